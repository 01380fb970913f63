from fishnet_stack.cli import main

main()
