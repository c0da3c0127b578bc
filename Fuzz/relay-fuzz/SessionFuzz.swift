import NIOCore
import SMTPCore

/// A whole SMTP server session — line framing, the command parser, ESMTP parameters, mailbox
/// and xtext syntax, SASL, DATA and BDAT — driven the way `SMTPServerHandler` drives it, by a
/// client sending any octets. The first octet picks the listener's policy. The machine must
/// never trap, and what it hands over for commit must be a complete envelope.
enum SessionFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let flags = bytes.first else { return }
        let configuration = SMTPServerSession.Configuration(
            hostname: "relay.test", maximumMessageSize: 2000, maximumRecipients: 3, maximumErrors: 5, maximumHops: 3,
            clientMayRelay: flags & 1 != 0, acceptsDomain: { $0 == "relay.test" },
            postmaster: Mailbox(localPart: "postmaster", domain: "relay.test"),
            tlsAvailable: flags & 2 != 0, authAvailable: flags & 4 != 0, requireTLS: flags & 8 != 0,
            requireAuth: flags & 16 != 0, storageHasRoom: { _ in flags & 32 == 0 })
        var driver = Driver(
            session: SMTPServerSession(configuration: configuration),
            lines: SMTPCommandLineDecoder(normalizeBareLineFeed: flags & 64 != 0),
            normalize: flags & 64 != 0, commitSucceeds: flags & 128 == 0)
        driver.input.writeBytes(bytes.dropFirst())
        driver.perform(driver.session.connectionEstablished())
        driver.process()
    }

    enum Mode {
        case command
        case data
        case chunk(remaining: Int, last: Bool)
        case discard(remaining: Int)
        case closed
    }

    struct Driver {
        var session: SMTPServerSession
        var lines: SMTPCommandLineDecoder
        let normalize: Bool
        let commitSucceeds: Bool
        var input = ByteBuffer()
        var mode = Mode.command
        var text: SMTPDataDecoder?

        mutating func process() {
            while true {
                switch mode {
                case .command:
                    guard input.readableBytes > 0, let line = lines.next(&input) else { return }
                    perform(session.commandReceived(line, pipelinedInputFollows: input.readableBytes > 0))
                case .data:
                    var output = ByteBuffer()
                    guard input.readableBytes > 0, text!.decode(&input, into: &output) else { return }
                    mode = .command
                    perform(session.dataEnded(text!.summary))
                case .chunk(let remaining, let last):
                    let length = min(remaining, input.readableBytes)
                    var slice = input.readSlice(length: length)!
                    var output = ByteBuffer()
                    _ = text!.decode(&slice, into: &output)
                    guard remaining == length else { return }  // the client went away mid-chunk
                    if last { text!.finish() }
                    mode = .command
                    perform(session.chunkReceived(text!.summary))
                case .discard(let remaining):
                    guard input.readableBytes >= remaining else { return }
                    input.moveReaderIndex(forwardBy: remaining)
                    mode = .command
                case .closed:
                    return
                }
            }
        }

        mutating func perform(_ action: SMTPServerAction) {
            switch action {
            case .none, .send:
                break
            case .sendAndClose:
                invariant(session.isClosed, "sendAndClose from a session that is not closed")
                mode = .closed
            case .startData(let reply, let envelope):
                invariant(reply.code == 354, "DATA started with \(reply.code)")
                check(envelope)
                text = SMTPDataDecoder(
                    configuration: .init(normalizeBareLineFeed: normalize, maximumLineLength: 1000, dotStuffed: true))
                mode = .data
            case .receiveChunk(let size, let last, let envelope, let beginsMessage):
                check(envelope)
                invariant(size >= 0, "chunk of \(size) octets")
                if beginsMessage {
                    text = SMTPDataDecoder(
                        configuration: .init(normalizeBareLineFeed: normalize, maximumLineLength: 1000, dotStuffed: false))
                }
                invariant(text != nil, "a chunk appended to no message")
                mode = .chunk(remaining: size, last: last)
            case .discardChunk(let size, _):
                mode = .discard(remaining: size)
            case .abortMessage, .discardMessage:
                text = nil
            case .commit(let envelope):
                check(envelope)
                perform(commitSucceeds ? session.commitSucceeded(queueID: "fuzz") : session.commitFailed())
            case .startTLS:
                input.clear()  // RFC 3207 §4.2: pipelined plaintext is dropped
                session.tlsHandshakeCompleted()
            case .verifyCredentials(_, let password):
                perform(session.credentialsChecked(valid: password == "secret"))
            }
        }

        func check(_ envelope: SMTPEnvelope) {
            invariant(!envelope.recipients.isEmpty, "an envelope without recipients")
            invariant(envelope.recipients.count <= 3, "\(envelope.recipients.count) recipients over the limit")
        }
    }
}
