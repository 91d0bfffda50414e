import Bytes
import CLinux
import Glibc
@testable import Reactor
import Testing

/// The send queue's ring and the frames' shared queue count: every frame comes out once,
/// in order, across wrap-around and growth, and is freed when the last queue lets go.
@Suite("OutboundQueue")
struct OutboundQueueTests {
    private func frame(_ value: UInt8, count: Int = 3) -> SharedBytes {
        SharedBytes.make(count: count) { $0.initializeMemory(as: UInt8.self, repeating: value) }
    }

    /// Everything `gather` offers, as bytes, without consuming it.
    private func pending(_ queue: OutboundQueue, limit: Int = 1024) -> [UInt8] {
        let iovecs = UnsafeMutablePointer<iovec>.allocate(capacity: limit)
        defer { iovecs.deallocate() }
        let (count, bytes) = queue.gather(into: iovecs, limit: limit)
        var out: [UInt8] = []
        for i in 0..<count {
            out += UnsafeRawBufferPointer(start: iovecs[i].iov_base, count: iovecs[i].iov_len)
        }
        #expect(out.count == bytes)
        return out
    }

    /// A TLS record's plaintext: the unsent bytes from the first frame's offset on, across
    /// frames, cut at the limit, and nothing consumed.
    @Test func copyPrefix_copiesAcrossFramesFromTheOffset_upToTheLimit() {
        var queue = OutboundQueue()
        defer { queue.removeAll() }
        queue.append(frame(1, count: 4))
        queue.append(frame(2, count: 3))
        queue.append(frame(3, count: 5))
        queue.consume(2)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
        defer { buffer.deallocate() }
        let all = queue.copyPrefix(into: buffer.baseAddress!, limit: 64)
        #expect(Array(buffer[..<all]) == [1, 1, 2, 2, 2, 3, 3, 3, 3, 3])
        let cut = queue.copyPrefix(into: buffer.baseAddress!, limit: 4)
        #expect(Array(buffer[..<cut]) == [1, 1, 2, 2])
        #expect(queue.queuedBytes == 10, "copying consumes nothing")
        #expect(pending(queue) == [1, 1, 2, 2, 2, 3, 3, 3, 3, 3])
    }

    @Test func framesComeOutInOrder_acrossWrapAroundAndGrowth() {
        var queue = OutboundQueue()
        defer { queue.removeAll() }
        var expected: [UInt8] = []
        // Partial consumption moves the head, so later appends wrap around the ring
        // before it grows.
        for round in 0..<50 {
            for k in 0..<(round % 7 + 1) {
                let value = UInt8(truncatingIfNeeded: round * 8 + k)
                queue.append(frame(value))
                expected += [value, value, value]
            }
            let take = min(expected.count, round % 5 + 2)
            queue.consume(take)
            expected.removeFirst(take)
            #expect(pending(queue) == expected)
            #expect(queue.queuedBytes == expected.count)
        }
        #expect(queue.capacity >= 8)
    }

    @Test func emptyFrames_areNotQueued() {
        var queue = OutboundQueue()
        queue.append(frame(1, count: 0))
        #expect(queue.isEmpty)
        #expect(queue.capacity == 0)
    }

    @Test func aFrameOnManyQueues_isFreedWhenTheLastLetsGo() {
        weak var watched: SharedBytes?
        var queues = Array(repeating: OutboundQueue(), count: 4)
        do {
            let shared = frame(9)
            watched = shared
            for i in queues.indices { queues[i].append(shared) }
            #expect(shared.queueReferences == 4)
        }
        #expect(watched != nil)  // the queues keep it alive on their own
        queues[0].consume(3)  // written in full
        queues[1].consume(2)  // partly written: still held
        queues[2].removeAll()  // connection dropped
        #expect(watched?.queueReferences == 2)
        queues[1].consume(1)
        #expect(watched != nil)
        queues[3].consume(3)
        #expect(watched == nil)
        for i in queues.indices { queues[i].removeAll() }
    }

    @Test func largeStorage_isGivenBackOnlyWhenEmpty() {
        var queue = OutboundQueue()
        for value in 0..<200 { queue.append(frame(UInt8(truncatingIfNeeded: value))) }
        #expect(queue.capacity > OutboundQueue.keptCapacity)
        queue.releaseStorageIfEmpty()
        #expect(queue.count == 200)  // not empty: kept
        queue.consume(600)
        #expect(queue.isEmpty)
        queue.releaseStorageIfEmpty()
        #expect(queue.capacity == 0)
        queue.append(frame(1))
        #expect(pending(queue) == [1, 1, 1])
        queue.removeAll()
    }

    /// Through the reactor: one frame sent to several connections, some of which go away
    /// before it is written, is freed once every queue is done with it.
    @Test func reactor_releasesASharedFrame_afterWritingAndDropping() throws {
        let fixture = try Fixture()
        let clients = try (0..<3).map { _ in try fixture.connect() }
        defer { clients.forEach { close($0.fd) } }
        weak var watched: SharedBytes?
        do {
            let shared = SharedBytes.copying(Array("fan-out".utf8))
            watched = shared
            for client in clients { fixture.reactor.send(shared, to: client.id) }
        }
        fixture.reactor.abortAll(reason: "test")  // drops every queue unwritten
        fixture.reactor.runOnce(maximumWaitNanoseconds: 0)
        #expect(watched == nil)

        let (fd, id) = try fixture.connect()
        defer { close(fd) }
        do {
            let shared = SharedBytes.copying(Array("written".utf8))
            watched = shared
            fixture.reactor.send(shared, to: id)
        }
        var got: [UInt8] = []
        try fixture.pump(until: "written") {
            got += readAvailable(fd) ?? []
            return got.count == 7
        }
        #expect(got == Array("written".utf8))
        #expect(watched == nil)
    }
}
