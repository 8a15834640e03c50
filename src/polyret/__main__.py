from polyret.cli import main

raise SystemExit(main())
