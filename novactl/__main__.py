from novactl.cli import run

run()
