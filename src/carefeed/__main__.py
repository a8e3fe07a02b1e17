from carefeed.cli import main

if __name__ == "__main__":  # parser processes are spawned and must not run the CLI
    raise SystemExit(main())
