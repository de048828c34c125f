import Foundation

/// Writes interactions as TSV with the header `user item weight timestamp`, the form
/// every reader here (and RecBole's, and pandas') takes back.
public enum InteractionWriter {
    public static func tsv(_ data: Interactions) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count * 24 + 32)
        out.append(contentsOf: (data.timestamps != nil ? "user\titem\tweight\ttimestamp\n" : "user\titem\tweight\n").utf8)
        for k in 0..<data.count {
            out.append(contentsOf: data.users[data.userIndex[k]].utf8)
            out.append(0x09)
            out.append(contentsOf: data.items[data.itemIndex[k]].utf8)
            out.append(0x09)
            appendNumber(data.weights[k], to: &out)
            if let timestamps = data.timestamps {
                out.append(0x09)
                let t = timestamps[k]
                if t == t.rounded() && abs(t) < 1e15 {
                    out.append(contentsOf: String(Int64(t)).utf8)
                } else {
                    out.append(contentsOf: String(t).utf8)
                }
            }
            out.append(0x0A)
        }
        return out
    }

    public static func write(_ data: Interactions, to path: String) throws(DataError) {
        try writeFileAtomically(tsv(data), to: path)
    }

    static func appendNumber(_ value: Float, to out: inout [UInt8]) {
        if value == value.rounded() && abs(value) < 1e7 {
            out.append(contentsOf: String(Int(value)).utf8)
        } else {
            out.append(contentsOf: String(value).utf8)
        }
    }
}

/// Writes to `path.tmp-PID`, then renames over `path`, so readers never see half a file.
public func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(DataError) {
    let temporary = path + ".tmp-\(getpid())"
    do {
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        if rename(temporary, path) != 0 { throw DataError.unreadable(path: path, reason: "rename failed: errno \(errno)") }
    } catch let error as DataError {
        unlink(temporary)
        throw error
    } catch {
        unlink(temporary)
        throw .unreadable(path: path, reason: "cannot write: \(error)")
    }
}
