import Foundation
import UnfoldHTTP
import UnfoldServing
import UnfoldJSON

/// Builds JSON text directly: responses are small and hot, so no encoder round trip.
struct JSONWriter {
    var bytes: [UInt8] = []
    private var needsComma = [false]

    init() { bytes.reserveCapacity(1024) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func open() { open(UInt8(ascii: "{")) }
    mutating func close() { close(UInt8(ascii: "}")) }
    mutating func openArray() { open(UInt8(ascii: "[")) }
    mutating func closeArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        separator()
        bytes.append(bracket)
        needsComma.append(false)
    }

    private mutating func close(_ bracket: UInt8) {
        bytes.append(bracket)
        needsComma.removeLast()
    }

    /// A key; the value that follows is written without a separator.
    mutating func key(_ name: String) {
        separator()
        appendJSONString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    mutating func raw(_ text: String) { raw(bytes: Array(text.utf8)) }

    /// JSON text already written elsewhere (a list of items).
    mutating func raw(bytes text: [UInt8]) {
        separator()
        bytes.append(contentsOf: text)
    }

    mutating func field(_ name: String, string value: String) {
        key(name)
        separator()
        appendJSONString(value, to: &bytes)
    }

    mutating func field(_ name: String, number value: String) {
        key(name)
        raw(value)
    }

    mutating func field(_ name: String, bool value: Bool) {
        key(name)
        raw(value ? "true" : "false")
    }

    mutating func strings(_ values: [String]) {
        raw("[" + values.map(jsonString).joined(separator: ",") + "]")
    }

    mutating func modelField(_ model: ServedModel) {
        key("model")
        open()
        field("name", string: model.name)
        field("version", number: String(model.version))
        close()
    }

    /// `"items":[…]`, from the model's precomputed item text.
    mutating func items(_ items: [(index: Int, score: Float)], model: ServedModel, extras: [[UInt8]]? = nil) {
        key("items")
        separator()
        model.responseText.appendList(items, extras: extras, to: &bytes)
    }
}
