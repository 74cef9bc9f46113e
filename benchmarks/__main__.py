"""`python -m benchmarks` (also `tapegrad bench`): the compiler benchmarks, see benchmarks/compiler.py."""

from benchmarks.compiler import main

raise SystemExit(main())
