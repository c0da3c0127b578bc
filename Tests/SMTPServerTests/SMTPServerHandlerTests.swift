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

    init(maximumMessageSize: Int = 10_000, commitsAtOnce: Bool = true) throws {
        sink = RecordingSink(commitsAtOnce: commitsAtOnce)
        let session = SMTPServerSession(
            configuration: SMTPServerSession.Configuration(
                hostname: "relay.test", maximumMessageSize: maximumMessageSize, maximumRecipients: 100,
                maximumErrors: 10, maximumHops: 100, clientMayRelay: true, acceptsDomain: { _ in false },
                postmaster: Mailbox(localPart: "postmaster", domain: "relay.test")))
        let handler = SMTPServerHandler(
            session: session,
            configuration: SMTPServerHandler.Configuration(
                commandTimeout: .minutes(5), dataTimeout: .minutes(10), normalizeBareLineFeed: false,
                maximumLineLength: 1000, refuseEarlyTalkers: false),
            sink: sink,
            info: SMTPSessionInfo(sessionID: "S1", clientAddress: "192.0.2.1", clientPort: 40000, listenerName: "test"),
            logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(handler)
        // Connecting makes the channel active (and tells the handler so).
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 40000)).wait()
        #expect(output().hasPrefix("220 "))
    }

    func send(_ text: String) {
        try? channel.writeInbound(channel.allocator.buffer(string: text))
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
