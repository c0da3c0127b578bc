import SMTPCore
import Testing

@Suite struct LocalSubmissionTests {
    @Test(arguments: [
        ("root", "admin@example.com"), ("Postmaster", "admin@example.com"), ("www-data", "www-data@relay.example.net"),
        ("bob@example.org", "bob@example.org"), ("", ""),
    ])
    func bareNamesAreQualified(_ address: String, _ expected: String) {
        #expect(LocalSubmission.qualify(address, domain: "relay.example.net", postmaster: "admin@example.com") == expected)
    }

    @Test func aSenderIsOnlyQualified() {
        #expect(LocalSubmission.qualify("root", domain: "relay.example.net") == "root@relay.example.net")
    }

    @Test func missingFieldsComeFirst() {
        let text = Array("Subject: cron\r\nX-Cron-Env: <SHELL=/bin/sh>\r\n\r\nbody\r\n".utf8)
        let completed = String(decoding: LocalSubmission.completingHeader(
            text, sender: "root@relay.example.net", fullName: "CronDaemon", time: 0, messageID: "1.2@relay.example.net"),
            as: UTF8.self)
        #expect(completed == "From: CronDaemon <root@relay.example.net>\r\nDate: Thu, 1 Jan 1970 00:00:00 +0000\r\n"
            + "Message-ID: <1.2@relay.example.net>\r\nSubject: cron\r\nX-Cron-Env: <SHELL=/bin/sh>\r\n\r\nbody\r\n")
    }

    @Test func presentFieldsAreKeptAndTheBodyIsNotSearched() {
        let text = Array("from: a@b\nDATE: Mon, 7 Dec 2026 00:00:00 +0000\nmessage-id: <x@y>\n\nMessage-ID: <no>\n".utf8)
        #expect(LocalSubmission.completingHeader(text, sender: "s@t", fullName: nil, time: 0, messageID: "m") == text)
        let body = Array("\r\nFrom: only in the body\r\n".utf8)
        let completed = String(decoding: LocalSubmission.completingHeader(body, sender: "s@t", fullName: nil, time: 0, messageID: "m"), as: UTF8.self)
        #expect(completed.hasPrefix("From: s@t\r\nDate: "))
    }

    @Test func textWithoutAHeaderSectionIsAllBody() {
        let completed = String(decoding: LocalSubmission.completingHeader(
            Array("hi there\n".utf8), sender: "s@t", fullName: nil, time: 0, messageID: "m"), as: UTF8.self)
        #expect(completed.hasSuffix("Message-ID: <m>\r\n\r\nhi there\n"))
        let empty = String(decoding: LocalSubmission.completingHeader([], sender: "s@t", fullName: nil, time: 0, messageID: "m"), as: UTF8.self)
        #expect(empty.hasSuffix("Message-ID: <m>\r\n\r\n"))
    }
}
