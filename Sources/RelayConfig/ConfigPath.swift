/// The dotted name of a value in the configuration file, as error messages show it:
/// `limits.max_message_size`, `listener[1].mode`, `route[0].hosts[2]`.
package struct ConfigPath: Hashable, Sendable, CustomStringConvertible {
    /// One step of a path: a key in a table, or a position in an array.
    package enum Component: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    /// The steps from the document root.
    package var components: [Component]

    /// Creates a path from its steps.
    /// - Parameter components: The steps from the document root; empty is the root itself.
    package init(_ components: [Component] = []) {
        self.components = components
    }

    /// The root of the document.
    package static let root = ConfigPath()

    /// Whether this is the document root.
    package var isRoot: Bool { self.components.isEmpty }

    /// The path of the parent table or array, or `nil` for the root.
    package var parent: ConfigPath? {
        self.isRoot ? nil : ConfigPath(Array(self.components.dropLast()))
    }

    /// This path with a key appended.
    /// - Parameter key: The key inside the table this path names.
    /// - Returns: The longer path.
    package func appending(_ key: String) -> ConfigPath {
        ConfigPath(self.components + [.key(key)])
    }

    /// This path with an array position appended.
    /// - Parameter index: The position inside the array this path names.
    /// - Returns: The longer path.
    package func appending(index: Int) -> ConfigPath {
        ConfigPath(self.components + [.index(index)])
    }

    /// This path followed by the steps of a relative one.
    /// - Parameter relative: Steps below this path.
    /// - Returns: The longer path.
    package func appending(contentsOf relative: [Component]) -> ConfigPath {
        ConfigPath(self.components + relative)
    }

    /// Dotted keys with `[n]` for array positions; keys that are not bare TOML keys are quoted.
    package var description: String {
        var text = ""
        for component in self.components {
            switch component {
            case .key(let key):
                if !text.isEmpty { text += "." }
                text += Self.isBareKey(key) ? key : TOMLText.quoted(key)
            case .index(let index):
                text += "[\(index)]"
            }
        }
        return text
    }

    /// Whether `key` can be written unquoted in TOML (`A-Za-z0-9_-`, not empty).
    package static func isBareKey(_ key: String) -> Bool {
        !key.isEmpty
            && key.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    return true
                default:
                    return false
                }
            }
    }
}
