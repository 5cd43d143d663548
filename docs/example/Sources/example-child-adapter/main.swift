// The example adapter served as a child process: the host starts this executable and talks to it over
// stdin/stdout (see docs/ABI.md). Try it: `parley adapter check .build/debug/example-child-adapter`.
import ExampleAdapter
import ParleyKit

ParleyKit.runChildAdapter(ExampleAdapter())
