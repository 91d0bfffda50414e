/// Reads a configuration file as text (nil if it does not exist).
public enum ConfigurationFileReader {
    public struct ReadError: Error {}

    public static func read(_ path: String) throws -> String {
        guard let bytes = try DurableFile.read(path) else { throw ReadError() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
