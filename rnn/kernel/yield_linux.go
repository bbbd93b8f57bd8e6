package kernel

import "syscall"

// osYield offers the processor to other threads of the machine
// (sched_yield): a goroutine that waits on the pool spins, and on a machine
// shared with other work the spin should not keep them off a core.
func osYield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
