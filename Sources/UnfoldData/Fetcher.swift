import CCurl
import Foundation

/// Outbound HTTP(S) and file:// fetches through libcurl: connect and total timeouts, a
/// size cap, transparent gzip, retries with exponential backoff on 5xx and connection
/// errors, a clear error for 4xx, and conditional requests (ETag / If-Modified-Since).
public enum Fetcher {
    public struct Options: Sendable {
        public var connectTimeout: Double = 5
        public var totalTimeout: Double = 300
        public var maxBytes: Int = 4 << 30
        public var retries: Int = 3
        public var backoff: Double = 0.25
        public var ifNoneMatch: String?
        public var ifModifiedSince: String?
        public init() {}
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var etag: String?
        public var lastModified: String?
        public var notModified: Bool { status == 304 }
    }

    public enum FetchError: Error, Equatable, CustomStringConvertible {
        case invalidURL(String)
        case timeout(url: String, seconds: Double)
        case tooLarge(url: String, limit: Int)
        case http(url: String, status: Int)
        case connection(url: String, reason: String)

        public var description: String {
            switch self {
            case .invalidURL(let url): return "not a fetchable URL (http, https or file): \(url)"
            case .timeout(let url, let s): return "\(url): no complete answer within \(s) s"
            case .tooLarge(let url, let limit): return "\(url): larger than the \(limit)-byte limit"
            case .http(let url, let status): return "\(url): the server answered \(status)"
            case .connection(let url, let reason): return "\(url): \(reason)"
            }
        }
    }

    public static func isURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://") || lower.hasPrefix("file://")
    }

    private static let initialize: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// Fetches `url`, retrying transient failures; throws on 4xx, exhaustion, timeouts or size.
    public static func fetch(_ url: String, options: Options = Options()) throws(FetchError) -> Response {
        guard isURL(url) else { throw .invalidURL(url) }
        var attempt = 0
        while true {
            switch once(url, options) {
            case .success(let response): return response
            case .failure(let error):
                let transient: Bool
                switch error {
                case .http(_, let status): transient = status >= 500
                case .connection, .timeout: transient = true
                default: transient = false
                }
                guard transient, attempt < options.retries else { throw error }
                Thread.sleep(forTimeInterval: options.backoff * pow(2, Double(attempt)))
                attempt += 1
            }
        }
    }

    /// What the callbacks fill in; passed to libcurl as an opaque pointer.
    private final class Transfer {
        var body: [UInt8] = []
        var headers: [String: String] = [:]
        let limit: Int
        var overflow = false
        init(limit: Int) { self.limit = limit }
    }

    private static func once(_ url: String, _ options: Options) -> Result<Response, FetchError> {
        _ = initialize
        guard let curl = curl_easy_init() else { return .failure(.connection(url: url, reason: "curl_easy_init failed")) }
        defer { curl_easy_cleanup(curl) }
        let transfer = Transfer(limit: options.maxBytes)
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>?
        if let etag = options.ifNoneMatch { headerList = curl_slist_append(headerList, "If-None-Match: \(etag)") }
        if let date = options.ifModifiedSince { headerList = curl_slist_append(headerList, "If-Modified-Since: \(date)") }
        defer { curl_slist_free_all(headerList) }

        unfold_curl_set_string(curl, CURLOPT_URL, url)
        unfold_curl_set_long(curl, CURLOPT_FOLLOWLOCATION, 1)
        unfold_curl_set_long(curl, CURLOPT_MAXREDIRS, 5)
        unfold_curl_set_long(curl, CURLOPT_NOSIGNAL, 1)
        unfold_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
        unfold_curl_set_long(curl, CURLOPT_TIMEOUT_MS, Int(options.totalTimeout * 1000))
        unfold_curl_set_string(curl, CURLOPT_ACCEPT_ENCODING, "")  // every coding libcurl decodes, gzip included
        unfold_curl_set_off(curl, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(options.maxBytes))
        unfold_curl_set_string(curl, CURLOPT_USERAGENT, "unfold/0.1")
        if headerList != nil { unfold_curl_set_list(curl, CURLOPT_HTTPHEADER, headerList) }
        unfold_curl_set_pointer(curl, CURLOPT_WRITEDATA, context)
        unfold_curl_set_pointer(curl, CURLOPT_HEADERDATA, context)
        unfold_curl_set_write(curl) { data, size, count, context in
            let transfer = Unmanaged<Fetcher.Transfer>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if transfer.body.count + n > transfer.limit {
                transfer.overflow = true
                return 0  // aborts the transfer
            }
            data!.withMemoryRebound(to: UInt8.self, capacity: n) { transfer.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        }
        unfold_curl_set_header(curl) { data, size, count, context in
            let transfer = Unmanaged<Fetcher.Transfer>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            let line = data!.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
            if line.lowercased().hasPrefix("http/") { transfer.headers = [:] }  // a new response (redirect, 100)
            if let colon = line.firstIndex(of: ":") {
                transfer.headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return n
        }
        let code = curl_easy_perform(curl)
        var status = 0
        unfold_curl_get_long(curl, CURLINFO_RESPONSE_CODE, &status)
        if transfer.overflow || code == CURLE_FILESIZE_EXCEEDED { return .failure(.tooLarge(url: url, limit: options.maxBytes)) }
        if code == CURLE_OPERATION_TIMEDOUT { return .failure(.timeout(url: url, seconds: options.totalTimeout)) }
        guard code == CURLE_OK else {
            return .failure(.connection(url: url, reason: String(cString: curl_easy_strerror(code))))
        }
        let isFile = url.lowercased().hasPrefix("file://")
        if !isFile && (status >= 400 || status == 0) { return .failure(.http(url: url, status: status)) }
        return .success(Response(status: isFile ? 200 : status, body: transfer.body, etag: transfer.headers["etag"], lastModified: transfer.headers["last-modified"]))
    }
}
