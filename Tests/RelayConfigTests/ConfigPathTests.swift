import RelayConfig
import Testing

@Suite struct ConfigPathTests {
    @Test func printsDottedKeysAndIndices() {
        #expect(ConfigPath.root.description == "")
        #expect(
            ConfigPath.root.appending("limits").appending("max_message_size").description == "limits.max_message_size"
        )
        #expect(
            ConfigPath.root.appending("listener").appending(index: 1).appending("mode").description
                == "listener[1].mode"
        )
        #expect(
            ConfigPath.root.appending("route").appending(index: 0).appending("hosts").appending(index: 2).description
                == "route[0].hosts[2]"
        )
        #expect(ConfigPath.root.appending("a b").appending("c").description == #""a b".c"#)
    }

    @Test func knowsItsParent() {
        let path = ConfigPath([.key("route"), .index(0)])
        #expect(path.parent == ConfigPath([.key("route")]))
        #expect(path.parent?.parent == .root)
        #expect(ConfigPath.root.parent == nil)
    }
}
