import SMTPCore
import Testing

private let maximumSize = 10_000

private func mail(_ text: String) throws(ESMTPParameterError) -> MailParameters {
    try ESMTPParameterParser.parseMail(Substring(text), maximumSize: maximumSize)
}

private func recipient(_ text: String) throws(ESMTPParameterError) -> RecipientParameters {
    try ESMTPParameterParser.parseRecipient(Substring(text))
}

/// The reply a refused MAIL parameter text earns, or nil when it is accepted.
private func mailRefusal(_ text: String) -> SMTPReply? {
    do {
        _ = try mail(text)
        return nil
    } catch {
        return error.reply
    }
}

private func recipientRefusal(_ text: String) -> SMTPReply? {
    do {
        _ = try recipient(text)
        return nil
    } catch {
        return error.reply
    }
}

private func badValue(_ keyword: String) -> SMTPReply {
    SMTPReply(code: 501, EnhancedStatusCode(5, 5, 4), "Error: bad value of parameter \(keyword)")
}

private let notifyCases: [(String, DSNNotify)] = [
    ("NOTIFY=NEVER", .never),
    ("NOTIFY=SUCCESS", .success),
    ("NOTIFY=SUCCESS,FAILURE,DELAY", [.success, .failure, .delay]),
    ("NOTIFY=delay,failure", [.delay, .failure]),
]

@Suite struct ESMTPParametersTests {
    // MARK: MAIL FROM

    @Test func noParametersGiveTheDefaults() throws {
        #expect(try mail("") == MailParameters())
        #expect(try recipient("") == RecipientParameters())
    }

    @Test func everyMailParameterTogether() throws {
        var expected = MailParameters()
        expected.size = 1234
        expected.body = .eightBitMIME
        expected.smtputf8 = true
        expected.ret = .headers
        expected.envelopeID = "QQ314159+x"
        expected.auth = ""
        #expect(try mail("SIZE=1234 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ314159+2Bx AUTH=<>") == expected)
    }

    @Test func keywordsAndEnumeratedValuesAreCaseInsensitive() throws {
        let parameters = try mail("size=10 body=8bitmime smtputf8 ret=full")
        #expect(parameters.size == 10)
        #expect(parameters.body == .eightBitMIME)
        #expect(parameters.smtputf8)
        #expect(parameters.ret == .full)
    }

    @Test(arguments: [(0, true), (9_999, true), (10_000, true), (10_001, false)])
    func sizeUpToTheAdvertisedMaximum(size: Int, accepted: Bool) throws {
        if accepted {
            #expect(try mail("SIZE=\(size)").size == size)
        } else {
            #expect(throws: ESMTPParameterError.sizeExceeded) { try mail("SIZE=\(size)") }
            #expect(
                mailRefusal("SIZE=\(size)")
                    == SMTPReply(code: 552, EnhancedStatusCode(5, 3, 4), "Error: message size exceeds fixed limit"))
        }
    }

    @Test func aSizeTooLargeForAnIntegerIsTooBig() {
        #expect(mailRefusal("SIZE=99999999999999999999")?.code == 552)
    }

    @Test(arguments: ["SIZE", "SIZE=abc", "SIZE=-1", "SIZE=+5", "SIZE=1.5", "SIZE=123456789012345678901"])
    func malformedSizeIsABadValue(text: String) {
        #expect(mailRefusal(text) == badValue("SIZE"))
    }

    @Test(arguments: [("BODY=7BIT", BodyType.sevenBit), ("BODY=8BITMIME", .eightBitMIME), ("BODY=7bit", .sevenBit)])
    func bodyTypes(text: String, body: BodyType) throws {
        #expect(try mail(text).body == body)
    }

    @Test(arguments: ["BODY=BINARYMIME", "BODY", "BODY=8BIT"])
    func unsupportedBodyTypesAreRefused(text: String) {
        #expect(mailRefusal(text) == badValue("BODY"))
    }

    @Test func smtputf8TakesNoValue() {
        #expect(mailRefusal("SMTPUTF8=yes") == badValue("SMTPUTF8"))
    }

    @Test(arguments: [("RET=FULL", DSNReturn.full), ("RET=HDRS", .headers), ("RET=hdrs", .headers)])
    func ret(text: String, ret: DSNReturn) throws {
        #expect(try mail(text).ret == ret)
    }

    @Test(arguments: ["RET=NONE", "RET"])
    func badRetIsRefused(text: String) {
        #expect(mailRefusal(text) == badValue("RET"))
    }

    @Test func envelopeIDIsDecodedFromXText() throws {
        #expect(try mail("ENVID=abc+2Bdef+3D1").envelopeID == "abc+def=1")
    }

    @Test func envelopeIDUpToOneHundredCharacters() throws {
        let hundred = String(repeating: "x", count: 100)
        #expect(try mail("ENVID=\(hundred)").envelopeID == hundred)
        #expect(mailRefusal("ENVID=\(hundred)x") == badValue("ENVID"))
    }

    @Test(arguments: ["ENVID=a+2b", "ENVID=a+", "ENVID"])
    func badEnvelopeIDIsRefused(text: String) {
        #expect(mailRefusal(text) == badValue("ENVID"))
    }

    @Test func authNullIsKeptAsTheEmptyString() throws {
        #expect(try mail("AUTH=<>").auth == "")
    }

    @Test func authIdentityIsDecodedFromXText() throws {
        #expect(try mail("AUTH=e+3Dmc2@example.com").auth == "e=mc2@example.com")
        #expect(mailRefusal("AUTH=a+zz") == badValue("AUTH"))
    }

    @Test func recipientParametersAreUnknownOnMail() {
        #expect(throws: ESMTPParameterError.unknown("NOTIFY")) { try mail("NOTIFY=NEVER") }
        #expect(
            mailRefusal("ORCPT=rfc822;a+40b")
                == SMTPReply(code: 555, EnhancedStatusCode(5, 5, 4), "Unsupported option: ORCPT"))
    }

    // MARK: RCPT TO

    @Test(arguments: notifyCases)
    func notify(text: String, notify: DSNNotify) throws {
        #expect(try recipient(text).notify == notify)
    }

    @Test(arguments: [
        "NOTIFY=NEVER,SUCCESS",  // RFC 3461 §4.1: NEVER stands alone
        "NOTIFY=FAILURE,NEVER",
        "NOTIFY=SUCCESS,SUCCESS",
        "NOTIFY=SUCCESS,",
        "NOTIFY=,SUCCESS",
        "NOTIFY=ALWAYS",
        "NOTIFY",
    ])
    func badNotifyIsRefused(text: String) {
        #expect(recipientRefusal(text) == badValue("NOTIFY"))
    }

    @Test func notifyTextIsCanonical() {
        #expect(DSNNotify.never.text == "NEVER")
        #expect(DSNNotify([.delay, .success, .failure]).text == "SUCCESS,FAILURE,DELAY")
        #expect(DSNNotify(text: "delay,success") == [.success, .delay])
        #expect(DSNNotify(text: "") == nil)
    }

    @Test func originalRecipientIsDecodedFromXText() throws {
        #expect(try recipient("ORCPT=rfc822;a+40b").originalRecipient == "rfc822;a@b")
        #expect(try recipient("ORCPT=rfc822;user@example.com").originalRecipient == "rfc822;user@example.com")
    }

    @Test func notifyAndOriginalRecipientTogether() throws {
        var expected = RecipientParameters()
        expected.notify = [.success, .failure]
        expected.originalRecipient = "rfc822;bob+tag@example.org"
        #expect(try recipient("NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Btag@example.org") == expected)
    }

    @Test(arguments: ["ORCPT=rfc822", "ORCPT=;a@b", "ORCPT=rfc822;", "ORCPT=rfc_822;a", "ORCPT=rfc822;a+4", "ORCPT"])
    func badOriginalRecipientIsRefused(text: String) {
        #expect(recipientRefusal(text) == badValue("ORCPT"))
    }

    @Test func originalRecipientUpToFiveHundredCharacters() throws {
        let address = "rfc822;" + String(repeating: "a", count: 493)
        #expect(try recipient("ORCPT=\(address)").originalRecipient == address)
        #expect(recipientRefusal("ORCPT=\(address)a") == badValue("ORCPT"))
    }

    @Test func mailParametersAreUnknownOnRecipient() {
        #expect(throws: ESMTPParameterError.unknown("SIZE")) { try recipient("SIZE=10") }
    }

    // MARK: Both

    @Test func anUnknownParameterIsRefusedWith555() {
        #expect(throws: ESMTPParameterError.unknown("XFOO")) { try mail("xfoo=bar") }
        #expect(
            mailRefusal("XFOO=bar") == SMTPReply(code: 555, EnhancedStatusCode(5, 5, 4), "Unsupported option: XFOO"))
        #expect(
            recipientRefusal("XFOO") == SMTPReply(code: 555, EnhancedStatusCode(5, 5, 4), "Unsupported option: XFOO"))
    }

    @Test(arguments: ["SIZE=1 SIZE=1", "SIZE=1 size=2", "SMTPUTF8 SMTPUTF8"])
    func aDuplicateMailParameterIsRefused(text: String) {
        let keyword = String(text.prefix(while: { $0 != "=" && $0 != " " })).uppercased()
        #expect(throws: ESMTPParameterError.duplicate(keyword)) { try mail(text) }
        #expect(
            mailRefusal(text)
                == SMTPReply(code: 501, EnhancedStatusCode(5, 5, 4), "Error: duplicate parameter \(keyword)"))
    }

    @Test func aDuplicateRecipientParameterIsRefused() {
        #expect(
            recipientRefusal("NOTIFY=NEVER notify=NEVER")
                == SMTPReply(code: 501, EnhancedStatusCode(5, 5, 4), "Error: duplicate parameter NOTIFY"))
    }

    @Test(arguments: ["-SIZE=1", "SI_ZE=1", "=1", "ENVID=", "ENVID=a=b"])
    func malformedParametersAreRefusedWith501(text: String) {
        let reply = mailRefusal(text)
        #expect(reply?.code == 501)
        #expect(reply?.enhancedCode == EnhancedStatusCode(5, 5, 4))
    }

    @Test func extraBlanksBetweenParametersAreTolerated() throws {
        let parameters = try mail("SIZE=5   BODY=7BIT")
        #expect(parameters.size == 5)
        #expect(parameters.body == .sevenBit)
    }
}
