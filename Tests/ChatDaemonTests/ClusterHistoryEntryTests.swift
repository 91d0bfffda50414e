import ChatCore
@testable import ChatDaemon
import Testing

/// Entries of Redis' history list: `SECONDS/SPEAKERHEX TEXT`, so that `/ban --purge` finds
/// a speaker's lines there; `SECONDS TEXT` (no speaker, as older nodes wrote) still read.
@Suite("Cluster: history entries in Redis")
struct ClusterHistoryEntryTests {
    @Test func anEntryCarriesItsSpeakerAndReadsBack() {
        let speaker = IPAddress(v4: 127, 0, 0, 9)
        let written = ClusterLink.historyEntry("dan: a b  c", from: speaker)
        #expect(written.hasSuffix("/7f000009 dan: a b  c"))
        let entry = ClusterLink.historyEntry(parsing: written)
        #expect(entry?.text == "dan: a b  c" && entry?.address == speaker)
    }

    @Test(arguments: [
        ("1700000000 old: line", "old: line", IPAddress.v6(0, 0)),
        ("1700000000/20010db8000000000000000000000001 v6: x", "v6: x", IPAddress.v6(0x2001_0db8_0000_0000, 1)),
        ("1700000000/zz x: y", "x: y", IPAddress.v6(0, 0)),
    ])
    func entriesAreRead(_ line: String, _ text: String, _ address: IPAddress) {
        let entry = ClusterLink.historyEntry(parsing: line)
        #expect(entry?.unixSeconds == 1_700_000_000 && entry?.text == text && entry?.address == address)
    }

    @Test func malformedEntriesAreSkipped() {
        #expect(ClusterLink.historyEntry(parsing: "nospace") == nil)
        #expect(ClusterLink.historyEntry(parsing: "abc text") == nil)
    }
}
