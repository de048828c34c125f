@testable import UnfoldHTTP

/// Everything a parser produced from some bytes, with body pieces joined.
struct ParseOutcome: Equatable {
    var heads: [HTTPRequestHead] = []
    var bodies: [[UInt8]] = []
    var error: HTTPParserError?
}

/// Feeds `parts` one after another, pulling every event after each.
func parse(_ parts: [[UInt8]], limits: HTTPParserLimits = HTTPParserLimits()) -> ParseOutcome {
    var parser = HTTPParser(limits: limits)
    var outcome = ParseOutcome()
    var body: [UInt8] = []
    for part in parts {
        parser.append(part)
        while outcome.error == nil {
            do {
                guard let event = try parser.next() else { break }
                switch event {
                case .head(let head): outcome.heads.append(head)
                case .body(let bytes): body += bytes
                case .end:
                    outcome.bodies.append(body)
                    body = []
                }
            } catch {
                outcome.error = error
            }
        }
    }
    return outcome
}

func parse(_ text: String, limits: HTTPParserLimits = HTTPParserLimits()) -> ParseOutcome {
    parse([Array(text.utf8)], limits: limits)
}
