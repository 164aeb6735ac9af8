//go:build !linux

package wireconn

import "net"

// Wrap returns c unchanged: without kernel receive timestamps the wrapper
// would only add cost.
func Wrap(c net.Conn) net.Conn { return c }
