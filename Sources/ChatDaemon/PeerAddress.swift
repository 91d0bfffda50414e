import ChatCore
import Reactor

extension IPAddress {
    /// The Room's view of a socket address: IPv4-mapped IPv6 becomes IPv4, so bans and
    /// logs see one address per host whichever listener it came through.
    init(_ address: SocketAddress) {
        let bytes = address.ipBytes
        if bytes.count == 4 {
            self.init(v4: bytes[0], bytes[1], bytes[2], bytes[3])
        } else {
            self.init(ipv6Bytes: bytes)
        }
    }
}
