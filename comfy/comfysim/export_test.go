package comfysim

// SetNodeHookForTest makes every node of s call hook with its class just
// before its implementation runs (nil removes it): tests make nodes panic
// with it, which no fault knob offers.
func SetNodeHookForTest(s *Server, hook func(class string)) { s.exec.SetTestHook(hook) }
