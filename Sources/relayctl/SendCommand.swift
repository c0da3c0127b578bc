import ArgumentParser
import Foundation
import RelayConfig
import SMTPCore

/// `relayctl send [-f SENDER] [-t] [RCPT…]`: queue a message read on stdin.
struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Read a message on stdin and queue it (as sendmail does).")
    @OptionGroup var options: RelayctlOptions
    @Option(name: .customShort("f"), help: "Envelope sender (default: your login name at the hostname).") var sender: String?
    @Flag(name: .customShort("t"), help: "Take recipients from To:, Cc: and Bcc: (Bcc: is removed).") var headers = false
    @Argument(help: "Recipients.") var recipients: [String] = []

    func run() throws {
        try Injection(
            sender: sender, fullName: nil, fromHeaders: headers, ignoreDots: true, recipients: recipients
        ).run(configuration: options.configuration())
    }
}

/// One local injection, shared by `relayctl send` and the `sendmail` name.
struct Injection {
    var sender: String?
    var fullName: String?
    var fromHeaders: Bool
    /// sendmail -i / -oi: a line with a single dot does not end the input.
    var ignoreDots: Bool
    var recipients: [String]
    /// Called as `sendmail`: silent on success, as sendmail is (cron mails any output).
    var quiet = false

    func run(configuration: RelayConfiguration) throws -> Never {
        var text = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        if !ignoreDots { text = Self.cutAtDot(text) }
        var all = recipients
        if fromHeaders {
            let (found, stripped) = HeaderRecipients.extract(text)
            all += found
            text = stripped
        }
        guard !all.isEmpty else { fail("no recipients (name them, or use -t)", code: 64) }
        // Postfix's cleanup for local mail: bare names qualified (root and postmaster to the
        // postmaster), missing From:, Date: and Message-ID: added.
        let envelopeSender = LocalSubmission.qualify(
            sender ?? ProcessInfo.processInfo.environment["USER"] ?? NSUserName(), domain: configuration.hostname)
        all = all.map {
            LocalSubmission.qualify($0, domain: configuration.hostname, postmaster: configuration.postmasterAddress)
        }
        let now = Date().timeIntervalSince1970
        let messageID = "\(Int(now * 1000)).\(UInt32.random(in: 0...UInt32.max))@\(configuration.hostname)"
        text = LocalSubmission.completingHeader(text, sender: envelopeSender, fullName: fullName, time: now, messageID: messageID)
        do {
            let id = try Submission(sender: envelopeSender, recipients: all, text: text).submit(to: configuration)
            if !quiet && ProcessInfo.processInfo.environment["RELAYCTL_QUIET"] == nil {
                FileHandle.standardError.write(Data("relayctl: queued as \(id)\n".utf8))
            }
            Foundation.exit(0)
        } catch {
            fail(error.message, code: error.code)
        }
    }

    static func cutAtDot(_ text: [UInt8]) -> [UInt8] {
        var start = 0
        while start < text.count {
            let end = text[start...].firstIndex(of: UInt8(ascii: "\n")) ?? text.count
            var line = text[start..<end]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.elementsEqual([UInt8(ascii: ".")]) { return Array(text[..<start]) }
            start = end + 1
        }
        return text
    }
}

/// Invoked as `sendmail`: the usual flags (-t, -f, -F, -i, -oi, -oem, -odb …), so cron, PHP's
/// mail() and scripts work unchanged. Unknown -o options are accepted and ignored as sendmail
/// does; -bp lists the queue (as mailq).
enum SendmailMode {
    static func run(_ arguments: [String]) throws -> Never {
        var sender: String?
        var fullName: String?
        var fromHeaders = false
        var ignoreDots = false
        var recipients: [String] = []
        var configPath: String?
        var flushQueue = false
        var index = 0
        func value(_ flag: String, _ attached: Substring) -> String {
            if !attached.isEmpty { return String(attached) }
            index += 1
            guard index < arguments.count else { fail("\(flag) needs a value\nusage: sendmail [-t] [-i] [-f sender] [-F name] [recipient …]", code: 64) }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                recipients += arguments[(index + 1)...]
                break
            }
            if argument.hasPrefix("-") && argument.count > 1 {
                let flag = argument.dropFirst().prefix(1)
                let rest = argument.dropFirst(2)
                switch flag {
                case "t": fromHeaders = true
                case "i": ignoreDots = true
                case "f", "r": sender = value("-f", rest)
                case "F": fullName = value("-F", rest)
                case "C": configPath = value("-C", rest)
                case "o":
                    if rest == "i" { ignoreDots = true }  // -oi; other -o options are accepted and ignored
                case "b":
                    if rest == "p" { mailq(configPath) }
                    if rest == "m" || rest.isEmpty { break }
                    fail("-b\(rest) is not supported\nusage: sendmail [-t] [-i] [-f sender] [-F name] [recipient …]", code: 64)
                case "q":
                    // -q alone: deliver the queue now (Postfix's sendmail -q, postqueue -f),
                    // once every option is read; -q with an interval starts a queue daemon
                    // elsewhere, so it is ignored.
                    if rest.isEmpty { flushQueue = true }
                case "v", "d", "N", "R", "V", "X", "B", "h", "L", "U", "G", "A", "e", "m": break
                default:
                    fail("unknown option \(argument)\nusage: sendmail [-t] [-i] [-f sender] [-F name] [recipient …]", code: 64)
                }
            } else {
                recipients.append(argument)
            }
            index += 1
        }
        if flushQueue { flush(configPath) }
        let options = try RelayctlOptions.parse(configPath.map { ["-c", $0] } ?? [])
        try Injection(
            sender: sender, fullName: fullName, fromHeaders: fromHeaders, ignoreDots: ignoreDots, recipients: recipients,
            quiet: true
        ).run(configuration: options.configuration())
    }

    static func flush(_ configPath: String?) -> Never {
        do {
            let command = try FlushCommand.parse(["--all"] + (configPath.map { ["-c", $0] } ?? []))
            // Silent on success, as sendmail -q is (cron would mail any output).
            _ = try command.options.send("flush", ["all": "1"])
            Foundation.exit(0)
        } catch {
            FlushCommand.exit(withError: error)
        }
    }

    static func mailq(_ configPath: String?) -> Never {
        do {
            let command = try QueueListCommand.parse(configPath.map { ["-c", $0] } ?? [])
            try command.run()
            Foundation.exit(0)
        } catch {
            QueueListCommand.exit(withError: error)
        }
    }
}
