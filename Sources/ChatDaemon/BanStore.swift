import ChatCore
import Foundation
import Glibc
import Reactor

/// The ban list on disk (`bans` in the state directory): one address per line, replaced
/// atomically (write a temporary file, then rename) so a crash never leaves half a list.
struct BanStore {
    let path: String

    init(directory: String) {
        path = directory.hasSuffix("/") ? directory + "bans" : directory + "/bans"
    }

    struct StoreError: Error, CustomStringConvertible {
        let description: String
    }

    func load() throws(StoreError) -> Set<IPAddress> {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw StoreError(description: "cannot read \(path)")
        }
        var addresses: Set<IPAddress> = []
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let address = SocketAddress.ipv4(line, port: 0) ?? SocketAddress.ipv6(line, port: 0) else {
                throw StoreError(description: "\(path):\(number + 1): not an IP address: \(line)")
            }
            addresses.insert(IPAddress(address))
        }
        return addresses
    }

    func save(_ addresses: [IPAddress]) throws(StoreError) {
        let text = "# chatroomd banned addresses, one per line\n" + addresses.map { "\($0)\n" }.joined()
        let temporary = path + ".tmp"
        do {
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        } catch {
            throw StoreError(description: "cannot save bans to \(path): \(error.localizedDescription)")
        }
        guard rename(temporary, path) == 0 else {
            throw StoreError(description: "cannot save bans to \(path): \(String(cString: strerror(errno)))")
        }
    }
}
