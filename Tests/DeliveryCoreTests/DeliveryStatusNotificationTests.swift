import Foundation
@testable import DeliveryCore
import Testing

// MARK: - A small MIME reader for checking reports structurally

private let crlf: [UInt8] = [13, 10]

private func firstRange(of needle: [UInt8], in haystack: [UInt8], from start: Int = 0) -> Range<Int>? {
    guard needle.count <= haystack.count, start <= haystack.count - needle.count else { return nil }
    for index in start...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
        return index..<(index + needle.count)
    }
    return nil
}

/// Every CR is followed by LF and every LF follows a CR.
private func bareLineBreaks(in bytes: [UInt8]) -> [Int] {
    var offsets: [Int] = []
    for (index, byte) in bytes.enumerated() {
        if byte == 13, index + 1 >= bytes.count || bytes[index + 1] != 10 { offsets.append(index) }
        if byte == 10, index == 0 || bytes[index - 1] != 13 { offsets.append(index) }
    }
    return offsets
}

/// One entity: its header fields (unfolded, in order) and its body.
private struct Entity {
    var fields: [(name: String, value: String)]
    var body: [UInt8]

    init(_ bytes: [UInt8]) {
        let split = firstRange(of: crlf + crlf, in: bytes)
        let head = split.map { Array(bytes[..<$0.lowerBound]) } ?? bytes
        body = split.map { Array(bytes[$0.upperBound...]) } ?? []
        fields = []
        for line in String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n") {
            if line.first == " " || line.first == "\t", !fields.isEmpty {
                fields[fields.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                fields.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
    }

    func values(_ name: String) -> [String] {
        fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func value(_ name: String) -> String? { values(name).first }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A multipart body split at `boundary` (RFC 2046 §5.1.1): the parts, and what follows the close delimiter.
private func multipartParts(of body: [UInt8], boundary: String) -> (parts: [[UInt8]], closed: Bool, epilogue: [UInt8]) {
    let delimiter = crlf + Array("--\(boundary)".utf8)
    var parts: [[UInt8]] = []
    guard var cursor = firstRange(of: delimiter, in: body) else { return ([], false, []) }
    while true {
        let after = cursor.upperBound
        if body.count >= after + 2, body[after] == UInt8(ascii: "-"), body[after + 1] == UInt8(ascii: "-") {
            return (parts, true, Array(body[(after + 2)...]))
        }
        guard body.count >= after + 2, body[after..<(after + 2)].elementsEqual(crlf) else { return (parts, false, []) }
        guard let next = firstRange(of: delimiter, in: body, from: after + 2) else {
            return (parts + [Array(body[(after + 2)...])], false, [])
        }
        parts.append(Array(body[(after + 2)..<next.lowerBound]))
        cursor = next
    }
}

/// The field groups of a `message/delivery-status` body: per-message first, then one per recipient.
private func fieldGroups(_ body: [UInt8]) -> [[(name: String, value: String)]] {
    String(decoding: body, as: UTF8.self).components(separatedBy: "\r\n\r\n")
        .filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        .map { Entity(Array(($0 + "\r\n").utf8)).fields }
}

// MARK: - Fixtures

private let arrival = 1_764_000_000.0  // Mon, 24 Nov 2025 16:00:00 +0000
private let now = 1_764_086_400.0  // Tue, 25 Nov 2025 16:00:00 +0000
private let boundary = "0123456789AB/mta.example.net"

private let originalHeaders =
    "Received: from client.example.org (client.example.org [192.0.2.10])\r\n\tby mta.example.net (Relay) with ESMTP id 0123456789AB\r\n"
    + "From: Alice <alice@example.org>\r\n"
    + "To: bob@example.com, carol@example.net\r\n"
    + "Subject: Quarterly figures\r\n"
    + "Message-ID: <figures@example.org>\r\n"
private let originalBody = "Hello Bob,\r\n\r\nthe figures are attached.\r\n.\r\n-- \r\nAlice\r\n"
private let original = Array((originalHeaders + "\r\n" + originalBody).utf8)

private let unknownUser = DeliveryStatusNotification.Recipient(
    address: "bob@example.com", originalRecipient: "rfc822;Bob@Example.COM", action: "failed", status: "5.1.1",
    diagnostic: "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown",
    remoteMTA: "mx1.example.com", lastAttempt: 1_764_003_600)
private let noDomain = DeliveryStatusNotification.Recipient(
    address: "carol@example.net", originalRecipient: nil, action: "failed", status: "5.1.2",
    diagnostic: "domain example.net not found", remoteMTA: nil, lastAttempt: nil)

private func report(
    recipients: [DeliveryStatusNotification.Recipient] = [unknownUser, noDomain], envelopeID: String? = "ENV-42",
    returnFull: Bool = true, message: [UInt8] = original
) -> DeliveryStatusNotification {
    DeliveryStatusNotification(
        reportingMTA: "mta.example.net", queueID: "0123456789AB", sender: "alice@example.org", arrivalTime: arrival,
        envelopeID: envelopeID, returnFullMessage: returnFull, recipients: recipients, originalMessage: message)
}

private struct Rendered {
    var bytes: [UInt8]
    var message: Entity
    var parts: [Entity]
    var closed: Bool
    var epilogue: [UInt8]

    init(_ dsn: DeliveryStatusNotification) {
        bytes = dsn.render(now: now, boundary: boundary, messageID: "0123456789AB@mta.example.net")
        message = Entity(bytes)
        let split = multipartParts(of: message.body, boundary: boundary)
        parts = split.parts.map(Entity.init)
        closed = split.closed
        epilogue = split.epilogue
    }
}

// MARK: - Tests

@Suite struct DeliveryStatusNotificationTests {
    /// Foreign text cannot add header fields or overlong lines (issue 13, hole 2): an upstream's
    /// reply with CR LF, NUL, escapes and 3,060 octets, and an ENVID with a CR LF in it.
    @Test func foreignTextIsMadePrintableAndFolded() {
        let hostile = DeliveryStatusNotification.Recipient(
            address: "bob@example.com", originalRecipient: "rfc822;carol\r\nBcc: x@evil.example\r\n\r\nbody",
            action: "failed", status: "5.0.0",
            diagnostic: "550 no\r\nBcc: y@evil.example\u{0}\u{1B}[31m " + String(repeating: "long ", count: 612),
            remoteMTA: "mx1.example.com", lastAttempt: nil)
        let rendered = Rendered(report(recipients: [hostile], envelopeID: "env\r\nX-Injected: 1"))
        let text = String(decoding: rendered.bytes, as: UTF8.self)
        #expect(!text.contains("\r\nBcc:") && !text.contains("\r\nX-Injected:"))
        #expect(!rendered.bytes.contains(0) && !rendered.bytes.contains(0x1B))
        #expect(text.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 998 })
        #expect(text.contains("Diagnostic-Code: smtp; 550 no Bcc: y@evil.example??[31m long"))
    }

    @Test func theTopLevelHeadersMakeAMultipartReportFromTheNullSender() {
        let rendered = Rendered(report())
        let message = rendered.message
        #expect(message.value("From") == "Mail Delivery System <MAILER-DAEMON@mta.example.net>")
        #expect(message.value("To") == "<alice@example.org>")
        #expect(message.value("Subject") == "Undelivered Mail Returned to Sender")
        #expect(message.value("Date") == "Tue, 25 Nov 2025 16:00:00 +0000")
        #expect(message.value("Message-ID") == "<0123456789AB@mta.example.net>")
        #expect(message.value("Auto-Submitted") == "auto-replied")
        #expect(message.value("MIME-Version") == "1.0")
        let contentType = message.value("Content-Type") ?? ""
        #expect(contentType.hasPrefix("multipart/report;"))
        #expect(contentType.contains("report-type=delivery-status"))
        #expect(contentType.contains("boundary=\"\(boundary)\""))
        for name in ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type"] {
            #expect(message.values(name).count == 1, "\(name) appears once")
        }
    }

    @Test func thereAreThreePartsInOrderAndTheCloseDelimiterEndsTheMessage() {
        let rendered = Rendered(report())
        #expect(rendered.parts.count == 3)
        #expect(rendered.closed)
        #expect(rendered.epilogue == crlf)
        #expect(rendered.bytes.suffix(boundary.utf8.count + 6) == ArraySlice(Array("--\(boundary)--\r\n".utf8)))
        let types = rendered.parts.map { $0.value("Content-Type")?.split(separator: ";").first.map(String.init) }
        #expect(types == ["text/plain", "message/delivery-status", "message/rfc822"])
    }

    @Test func theNotificationNamesEveryRecipientWithItsDiagnostic() throws {
        let rendered = Rendered(report())
        let text = try #require(rendered.parts.first).text
        #expect(text.contains("mta.example.net"))
        #expect(text.contains("0123456789AB"))
        #expect(text.contains("<bob@example.com>: 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown\r\n"))
        #expect(text.contains("<carol@example.net>: domain example.net not found\r\n"))
        #expect(try #require(rendered.parts.first).value("Content-Type")?.contains("charset=utf-8") == true)
    }

    @Test func theDeliveryStatusHasPerMessageThenPerRecipientFields() throws {
        let rendered = Rendered(report())
        try #require(rendered.parts.count == 3)
        let groups = fieldGroups(rendered.parts[1].body)
        try #require(groups.count == 3)

        let perMessage = groups[0]
        #expect(perMessage.first?.name == "Reporting-MTA")
        #expect(perMessage.first?.value == "dns; mta.example.net")
        #expect(perMessage.contains { $0 == ("Original-Envelope-Id", "ENV-42") })
        #expect(perMessage.contains { $0 == ("Arrival-Date", "Mon, 24 Nov 2025 16:00:00 +0000") })

        let bob = groups[1]
        #expect(bob.map(\.name) == [
            "Original-Recipient", "Final-Recipient", "Action", "Status", "Remote-MTA", "Diagnostic-Code",
            "Last-Attempt-Date",
        ])
        #expect(bob.map(\.value) == [
            "rfc822; Bob@Example.COM", "rfc822; bob@example.com", "failed", "5.1.1", "dns; mx1.example.com",
            "smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown",
            "Mon, 24 Nov 2025 17:00:00 +0000",
        ])

        let carol = groups[2]
        #expect(carol.map(\.name) == ["Final-Recipient", "Action", "Status", "Diagnostic-Code"])
        #expect(carol.map(\.value) == [
            "rfc822; carol@example.net", "failed", "5.1.2", "X-Relay; domain example.net not found",
        ])
    }

    @Test func anUnsetEnvelopeIDIsLeftOut() throws {
        let rendered = Rendered(report(envelopeID: nil))
        try #require(rendered.parts.count == 3)
        let perMessage = try #require(fieldGroups(rendered.parts[1].body).first)
        #expect(!perMessage.contains { $0.name == "Original-Envelope-Id" })
        #expect(perMessage.contains { $0.name == "Reporting-MTA" })
        #expect(perMessage.contains { $0.name == "Arrival-Date" })
    }

    @Test func withRETFULLTheWholeOriginalIsReturnedAsMessageRFC822() throws {
        let rendered = Rendered(report(returnFull: true))
        try #require(rendered.parts.count == 3)
        #expect(rendered.parts[2].value("Content-Type") == "message/rfc822")
        #expect(rendered.parts[2].body == original)
    }

    @Test func withoutRETFULLOnlyTheHeaderSectionIsReturned() throws {
        let rendered = Rendered(report(returnFull: false))
        try #require(rendered.parts.count == 3)
        #expect(rendered.parts[2].value("Content-Type") == "text/rfc822-headers")
        #expect(rendered.parts[2].body == Array(originalHeaders.utf8))
        #expect(!rendered.parts[2].text.contains("the figures are attached"))
    }

    /// SPEC: the original up to 50 KB with RET=FULL, then its headers only.
    @Test(arguments: [
        (DeliveryStatusNotification.maximumReturnedSize - 1, true),
        (DeliveryStatusNotification.maximumReturnedSize, true),
        (DeliveryStatusNotification.maximumReturnedSize + 1, false),
        (1_000_000, false),
    ])
    func aLargeOriginalIsCutToItsHeaders(size: Int, full: Bool) throws {
        #expect(DeliveryStatusNotification.maximumReturnedSize == 50_000)
        let head = Array((originalHeaders + "\r\n").utf8)
        let line = Array((String(repeating: "x", count: 76) + "\r\n").utf8)
        var message = head
        while message.count + line.count <= size - 2 { message += line }
        message += Array(repeating: UInt8(ascii: "y"), count: size - 2 - message.count) + crlf
        try #require(message.count == size)

        let rendered = Rendered(report(returnFull: true, message: message))
        try #require(rendered.parts.count == 3)
        if full {
            #expect(rendered.parts[2].value("Content-Type") == "message/rfc822")
            #expect(rendered.parts[2].body == message)
        } else {
            #expect(rendered.parts[2].value("Content-Type") == "text/rfc822-headers")
            #expect(rendered.parts[2].body == Array(originalHeaders.utf8))
            #expect(rendered.bytes.count < 10_000)
        }
        #expect(rendered.closed)
        #expect(bareLineBreaks(in: rendered.bytes).isEmpty)
    }

    @Test(arguments: [true, false])
    func everyLineEndsInCRLF(returnFull: Bool) {
        let bytes = Rendered(report(returnFull: returnFull)).bytes
        #expect(bareLineBreaks(in: bytes).isEmpty)
        #expect(bytes.suffix(2) == ArraySlice(crlf))
    }

    /// A diagnostic is quoted on one line, whatever it holds (a server may put a CR in a reply line).
    @Test(arguments: ["550 5.7.1 first\r\nsecond", "550 first\nsecond", "550 first\rsecond", "line end\r\n"])
    func aDiagnosticWithLineBreaksStaysOnOneLine(diagnostic: String) throws {
        var recipient = unknownUser
        recipient.diagnostic = diagnostic
        let rendered = Rendered(report(recipients: [recipient]))
        #expect(bareLineBreaks(in: rendered.bytes).isEmpty)
        try #require(rendered.parts.count == 3)
        let groups = fieldGroups(rendered.parts[1].body)
        try #require(groups.count == 2)
        let code = try #require(groups[1].first { $0.name == "Diagnostic-Code" }?.value)
        #expect(!code.contains("\r") && !code.contains("\n"))
        #expect(code.hasPrefix("smtp; "))
    }

    @Test func anOriginalWithoutAFinalLineEndStillClosesProperly() throws {
        let message = Array("Subject: x\r\n\r\nno final newline".utf8)
        let rendered = Rendered(report(returnFull: true, message: message))
        try #require(rendered.parts.count == 3)
        #expect(rendered.parts[2].body == message + crlf)
        #expect(rendered.closed)
        #expect(bareLineBreaks(in: rendered.bytes).isEmpty)
    }

    @Test func aHeadersOnlyOriginalIsReturnedWhole() throws {
        let message = Array("Subject: x\r\nFrom: y@example.org\r\n".utf8)
        let rendered = Rendered(report(returnFull: false, message: message))
        try #require(rendered.parts.count == 3)
        #expect(rendered.parts[2].body == message)
        #expect(rendered.closed)
    }

    @Test func aDelayedReportSaysSo() throws {
        var recipient = unknownUser
        recipient.action = "delayed"
        recipient.status = "4.4.1"
        recipient.diagnostic = "451 4.4.1 try again later"
        let rendered = Rendered(report(recipients: [recipient], returnFull: false))
        let subject = try #require(rendered.message.value("Subject"))
        #expect(subject.hasPrefix("Delayed Mail"))
        try #require(rendered.parts.count == 3)
        #expect(rendered.parts[0].text.contains("will keep trying"))
        let groups = fieldGroups(rendered.parts[1].body)
        #expect(groups.last?.first { $0.name == "Action" }?.value == "delayed")
        #expect(groups.last?.first { $0.name == "Status" }?.value == "4.4.1")
        #expect(bareLineBreaks(in: rendered.bytes).isEmpty)
    }

    @Test func aReportWithOneFailedRecipientIsNotADelayReport() {
        var delayed = unknownUser
        delayed.action = "delayed"
        let rendered = Rendered(report(recipients: [delayed, noDomain]))
        #expect(rendered.message.value("Subject") == "Undelivered Mail Returned to Sender")
    }

    @Test(arguments: [
        ("A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\nB: 2\r\n"),
        ("A: 1\r\n\r\n", "A: 1\r\n"),
        ("A: 1\r\n\r\nbody\r\n\r\nmore body\r\n", "A: 1\r\n"),
        ("A: 1\r\n folded\r\nB: 2\r\n\r\n\r\n", "A: 1\r\n folded\r\nB: 2\r\n"),
        // No blank line: all of it is header section.
        ("A: 1\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n"),
        ("A: 1", "A: 1"),
        ("", ""),
        ("abc", "abc"),
    ])
    func headerSectionEndsBeforeTheFirstEmptyLine(message: String, expected: String) {
        #expect(DeliveryStatusNotification.headerSection(of: Array(message.utf8)) == Array(expected.utf8))
    }

    @Test(arguments: [
        (0.0, "Thu, 1 Jan 1970 00:00:00 +0000"),
        (1_764_000_000, "Mon, 24 Nov 2025 16:00:00 +0000"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 +0000"),
        (1_767_225_599, "Wed, 31 Dec 2025 23:59:59 +0000"),
    ])
    func datesAreRFC5322InUTC(time: Double, expected: String) {
        #expect(DeliveryStatusNotification.date(time) == expected)
    }
}
