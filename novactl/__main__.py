from novactl.cli import main

main()
