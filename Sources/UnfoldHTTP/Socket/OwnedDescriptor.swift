/// A value that owns one file descriptor and closes it (a socket, an epoll instance, an
/// eventfd).
protocol OwnedDescriptor {
    func close() throws(SocketError)
}

extension OwnedDescriptor {
    /// Closes after `error` made the descriptor useless; returns the error to throw, which
    /// names the failed close too if there was one.
    func close(after error: SocketError) -> SocketError {
        do {
            try close()
            return error
        } catch let closeError {
            return error.alongside(closeError)
        }
    }
}
