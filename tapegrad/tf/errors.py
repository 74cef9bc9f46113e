"""tf.errors: TensorFlow's exception classes.

tapegrad's own ops raise Python's ValueError / TypeError; the classes that correspond are
subclasses of those too, so `except tf.errors.InvalidArgumentError` catches what tf.debugging raises
and `except ValueError` still catches everything a bad argument raises.
"""

from __future__ import annotations


class OpError(Exception):
    def __init__(self, node_def=None, op=None, message=None, *args):
        # TF's signature is (node_def, op, message); a single argument is the message
        if message is None and op is None and node_def is not None:
            message, node_def = node_def, None
        super().__init__(message)
        self.node_def, self.op, self.message = node_def, op, message


class InvalidArgumentError(OpError, ValueError):
    pass


class NotFoundError(OpError):
    pass


class AlreadyExistsError(OpError):
    pass


class OutOfRangeError(OpError, IndexError):
    pass


class FailedPreconditionError(OpError):
    pass


class UnimplementedError(OpError, NotImplementedError):
    pass


class ResourceExhaustedError(OpError, MemoryError):
    pass


class InternalError(OpError):
    pass


class UnknownError(OpError):
    pass


class CancelledError(OpError):
    pass


class AbortedError(OpError):
    pass


class DeadlineExceededError(OpError):
    pass


class PermissionDeniedError(OpError):
    pass


class UnauthenticatedError(OpError):
    pass


class UnavailableError(OpError):
    pass


class DataLossError(OpError):
    pass
