import Testing

@testable import Listener

@Suite struct HeaderFieldsTests {
    @Test func theFirstFieldOfThatNameInTheHeaderSection() {
        let text = "Subject: x\r\nMessage-ID: <a1@example.org>\r\nmessage-id: <second@example.org>\r\n\r\nMessage-ID: <body@x>\r\n"
        #expect(HeaderFields.first("Message-ID", in: Array(text.utf8)) == "<a1@example.org>")
    }

    @Test func foldedAndCaseInsensitive() {
        let text = "MESSAGE-ID:\r\n <folded@example.org>\r\nSubject: y\r\n\r\n"
        #expect(HeaderFields.first("message-id", in: Array(text.utf8)) == "<folded@example.org>")
    }

    @Test func noneInTheBodyOrWhenAbsent() {
        #expect(HeaderFields.first("Message-ID", in: Array("Subject: x\r\n\r\nMessage-ID: <b@x>\r\n".utf8)) == nil)
        #expect(HeaderFields.first("Message-ID", in: Array("Message-IDx: <b@x>\r\n\r\n".utf8)) == nil)
        #expect(HeaderFields.first("Message-ID", in: []) == nil)
    }

    @Test func controlCharactersAreDroppedAndTheValueBounded() {
        let text = "Message-ID: <a\u{1b}[31m@x>\r\n\r\n"
        #expect(HeaderFields.first("Message-ID", in: Array(text.utf8)) == "<a[31m@x>")
        let long = "Message-ID: <" + String(repeating: "a", count: 500) + ">\r\n\r\n"
        #expect(HeaderFields.first("Message-ID", in: Array(long.utf8))?.count == 256)
    }
}
