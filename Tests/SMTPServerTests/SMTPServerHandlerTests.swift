import Logging
import NIOCore
import NIOEmbedded
import SMTPCore
import Testing

@testable import SMTPServer

/// The driver as the listener runs it, on NIO's `EmbeddedChannel`: what the machine decides
/// about a message's life (begin, append, commit, drop) must be what reaches the sink, on
/// every path that ends a transaction.
@Suite struct SMTPServerHandlerTests {
    @Test(arguments: ["RSET", "EHLO client.example", "HELO client.example"])
    func aResetBetweenChunksLeaksNothingIntoTheNextMessage(reset: String) throws {
        let harness = try Harness()
        harness.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<old@example.com>\r\n")
        harness.send("BDAT 5\r\nABORT")
        harness.send("\(reset)\r\n")
        harness.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<new@example.com>\r\nBDAT 6 LAST\r\nkept\r\n")
        #expect(harness.sink.aborted == 1)
        let committed = try #require(harness.sink.committed.first)
        #expect(harness.sink.committed.count == 1)
        #expect(committed.text == "kept\r\n")
        #expect(committed.envelope.recipients.map(\.mailbox.description) == ["new@example.com"])
        #expect(harness.sink.begun.map { $0.recipients.map(\.mailbox.description) } == [["old@example.com"], ["new@example.com"]])
    }

    @Test func anOversizedChunkDropsItsTextAndTheNextTransactionStartsClean() throws {
        let harness = try Harness(maximumMessageSize: 4)
        harness.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<old@example.com>\r\nBDAT 6\r\nTOOBIG")
        harness.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<new@example.com>\r\nBDAT 2 LAST\r\nok")
        #expect(harness.sink.aborted == 1)
        #expect(harness.sink.committed.map(\.text) == ["ok"])
    }

    @Test func dataAfterAnAbortedChunkBeginsAFreshMessage() throws {
        let harness = try Harness()
        harness.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<old@example.com>\r\nBDAT 3\r\nold")
        harness.send("RSET\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<new@example.com>\r\n")
        harness.send("DATA\r\n")
        harness.send("fresh\r\n.\r\n")
        #expect(harness.sink.committed.map(\.text) == ["fresh\r\n"])
    }

    /// Exim writes `.` and `QUIT`, then shuts its sending side: the `250` and the `221` must
    /// still go out, after the commit.
    @Test func aHalfClosedClientGetsItsRepliesAfterTheCommit() throws {
        let harness = try Harness(commitsAtOnce: false)
        harness.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        harness.send("text\r\n.\r\nQUIT\r\n")
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(harness.channel.isActive, "closed before the commit finished")
        harness.sink.finishCommits()
        harness.channel.embeddedEventLoop.run()
        let output = harness.output()
        #expect(output.contains("250 2.0.0 Ok: queued as Q1\r\n"))
        #expect(output.hasSuffix("221 2.0.0 relay.test closing connection\r\n"))
        #expect(!harness.channel.isActive)
    }

    /// Slowloris (issue 13, hole 4): bytes of an unfinished command line do not extend its wait.
    @Test func aCommandLineDrippedOctetByOctetTimesOutOnTheFirstDeadline() throws {
        let harness = try Harness(commandTimeout: .seconds(10))
        for octet in "NOOP NOO" {  // 8 octets over 8 seconds
            harness.wait(.seconds(1))
            harness.send(String(octet))
        }
        #expect(harness.channel.isActive)
        harness.wait(.seconds(3))  // 11 s after the wait began; 3 s after the last octet
        #expect(harness.output().contains("421 4.4.2"))
        #expect(!harness.channel.isActive)
    }

    @Test func eachWholeCommandStartsANewWait() throws {
        let harness = try Harness(commandTimeout: .seconds(10))
        for _ in 0..<5 {
            harness.wait(.seconds(9))
            harness.send("NOOP\r\n")
        }
        #expect(harness.channel.isActive)
        #expect(!harness.output().contains("421"))
    }

    /// Text earns time at 500 octets a second, never more than data_timeout from now.
    @Test func textKeepsTheSessionAliveOnlyAtTheMinimumRate() throws {
        let fast = try Harness(maximumMessageSize: 100_000, dataTimeout: .seconds(10))
        fast.send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        for _ in 0..<30 {  // 1,000 octets a second for 30 seconds
            fast.wait(.seconds(1))
            fast.send(String(repeating: "x", count: 998) + "\r\n")
        }
        fast.send(".\r\n")
        #expect(fast.output().contains("250 2.0.0 Ok: queued"))

        let slow = try Harness(dataTimeout: .seconds(10))
        slow.send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        for _ in 0..<15 {  // 100 octets a second: each earns 0.2 s, so the wait ends after 12.5 s
            slow.wait(.seconds(1))
            slow.send(String(repeating: "y", count: 98) + "\r\n")
        }
        #expect(slow.output().contains("421 4.4.2"))
        #expect(slow.sink.committed.isEmpty)
    }

    /// `BDAT 1` plus an octet at a time: the chunks share one text deadline.
    @Test func chunksOfOneMessageShareTheTextDeadline() throws {
        let harness = try Harness(dataTimeout: .seconds(10))
        harness.send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 1\r\n")
        for _ in 0..<6 {  // each chunk's octet 3 seconds late, the next BDAT at once: 18 s for 6 octets
            harness.wait(.seconds(3))
            harness.send("xBDAT 1\r\n")
            if !harness.channel.isActive { break }
        }
        #expect(harness.output().contains("421 4.4.2"))
        #expect(harness.sink.committed.isEmpty)
    }

    @Test func underStressEveryWaitIsTenSeconds() throws {
        let harness = try Harness(commandTimeout: .minutes(5), underStress: { true })
        harness.wait(.seconds(9))
        #expect(harness.channel.isActive)
        harness.wait(.seconds(2))
        #expect(harness.output().contains("421 4.4.2"))
    }

    @Test func aHalfClosedIdleClientIsClosed() throws {
        let harness = try Harness()
        harness.send("EHLO client.example\r\n")
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        harness.channel.embeddedEventLoop.run()
        #expect(harness.output().contains("250 "))
        #expect(!harness.channel.isActive)
    }

    @Test func aHalfCloseInsideDataDropsTheCutOffMessage() throws {
        let harness = try Harness()
        harness.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        harness.send("half a message\r\n")
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        harness.channel.embeddedEventLoop.run()
        #expect(harness.sink.committed.isEmpty)
        #expect(harness.sink.aborted == 1)
        #expect(!harness.channel.isActive)
    }
}

/// A session on an `EmbeddedChannel` with a sink that records what it is told.
private final class Harness {
    let channel = EmbeddedChannel()
    let sink: RecordingSink

    init(
        maximumMessageSize: Int = 10_000, commitsAtOnce: Bool = true, commandTimeout: TimeAmount = .minutes(5),
        dataTimeout: TimeAmount = .minutes(10), underStress: (@Sendable () -> Bool)? = nil
    ) throws {
        sink = RecordingSink(commitsAtOnce: commitsAtOnce)
        let session = SMTPServerSession(
            configuration: SMTPServerSession.Configuration(
                hostname: "relay.test", maximumMessageSize: maximumMessageSize, maximumRecipients: 100,
                maximumErrors: 10, maximumHops: 100, clientMayRelay: true, acceptsDomain: { _ in false },
                postmaster: Mailbox(localPart: "postmaster", domain: "relay.test")))
        let handler = SMTPServerHandler(
            session: session,
            configuration: SMTPServerHandler.Configuration(
                commandTimeout: commandTimeout, dataTimeout: dataTimeout, normalizeBareLineFeed: false,
                maximumLineLength: 1000, refuseEarlyTalkers: false, underStress: underStress),
            sink: sink,
            info: SMTPSessionInfo(sessionID: "S1", clientAddress: "192.0.2.1", clientPort: 40000, listenerName: "test"),
            logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(handler)
        // Connecting makes the channel active (and tells the handler so).
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 40000)).wait()
        #expect(output().hasPrefix("220 "))
    }

    /// Moves the event loop's clock, running the timers that come due.
    func wait(_ time: TimeAmount) {
        channel.embeddedEventLoop.advanceTime(by: time)
    }

    func send(_ text: String) {
        _ = try? channel.writeInbound(channel.allocator.buffer(string: text))
        channel.pipeline.fireChannelReadComplete()
        channel.embeddedEventLoop.run()
    }

    /// Everything written to the client since the last call.
    func output() -> String {
        var text = ""
        while let buffer = try? channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }
}

private final class RecordingSink: SMTPMessageSink {
    struct Committed {
        var envelope: SMTPEnvelope
        var text: String
    }

    let commitsAtOnce: Bool
    var begun: [SMTPEnvelope] = []
    var committed: [Committed] = []
    var aborted = 0
    var pending: [() -> Void] = []

    init(commitsAtOnce: Bool) {
        self.commitsAtOnce = commitsAtOnce
    }

    func beginMessage(envelope: SMTPEnvelope, session: SMTPSessionInfo) -> any SMTPMessageWriter {
        begun.append(envelope)
        return Writer(sink: self)
    }

    func finishCommits() {
        let work = pending
        pending = []
        for item in work { item() }
    }

    final class Writer: SMTPMessageWriter {
        let sink: RecordingSink
        var text = ""

        init(sink: RecordingSink) { self.sink = sink }

        func write(_ bytes: ByteBuffer) { text += String(buffer: bytes) }

        func commit(envelope: SMTPEnvelope, completion: @escaping @Sendable (Result<String, any Error>) -> Void) {
            let finish = { [self] in
                sink.committed.append(Committed(envelope: envelope, text: text))
                completion(.success("Q\(sink.committed.count)"))
            }
            if sink.commitsAtOnce { finish() } else { sink.pending.append(finish) }
        }

        func abort() { sink.aborted += 1 }
    }
}
