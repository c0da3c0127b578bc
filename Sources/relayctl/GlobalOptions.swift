/// `relayctl [-c FILE | -s SOCKET] COMMAND …`: the global options may come before the command
/// words (as `postqueue -c`, `git -C`), where SPEC.md writes them, or after them. The parser
/// knows them as options of each command, so those written first are moved behind the command.
enum GlobalOptions {
    /// Options that take a value, in every spelling.
    private static let withValue: Set<String> = ["-c", "--config", "-s", "--socket"]

    /// `arguments` (without the program name) with the leading global options moved behind
    /// the command, and before a `--` if there is one.
    static func moveLeading(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if withValue.contains(argument), index + 1 < arguments.count {
                leading += [argument, arguments[index + 1]]
                index += 2
            } else if isJoined(argument) {
                leading.append(argument)
                index += 1
            } else {
                break
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        var rest = Array(arguments[index...])
        let insertion = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: leading, at: insertion)
        return rest
    }

    /// `-cFILE`, `-sSOCKET`, `--config=FILE`, `--socket=SOCKET`.
    private static func isJoined(_ argument: String) -> Bool {
        if argument.hasPrefix("--config=") || argument.hasPrefix("--socket=") { return true }
        return argument.count > 2 && (argument.hasPrefix("-c") || argument.hasPrefix("-s")) && !argument.hasPrefix("--")
    }
}
