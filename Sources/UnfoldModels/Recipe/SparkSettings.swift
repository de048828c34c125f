/// Where `spark-submit` is and how it is called (the server's `spark_*` settings, or
/// `unfold train --engine spark`'s flags).
public struct SparkSettings: Sendable, Equatable {
    /// spark-submit: a path, or a name looked up on PATH.
    public var submit: String
    /// --master, e.g. local[2], yarn, k8s://https://host:443.
    public var master: String
    /// Extra spark-submit arguments before the job (e.g. --deploy-mode, --conf k=v).
    public var arguments: [String]
    /// The PySpark job (spark/unfold_als.py).
    public var job: String
    /// Where the exchange directory is written (default: a hidden directory beside the
    /// snapshots, removed after the import). On a cluster, a shared or HDFS/S3 location the
    /// job can write and Unfold can read (a local path, file:// or http(s):// URL).
    public var exchange: String?

    public init(submit: String = "spark-submit", master: String = "local[2]", arguments: [String] = [], job: String = "spark/unfold_als.py", exchange: String? = nil) {
        self.submit = submit
        self.master = master
        self.arguments = arguments
        self.job = job
        self.exchange = exchange
    }
}

extension SparkSettings {
    /// The `unfold train` flags that carry these settings to a trainer process.
    public var trainArguments: [String] {
        var flags = ["--spark-submit", submit, "--spark-master", master, "--spark-job", job]
        // One "--flag=value" word: the value itself starts with "--".
        if !arguments.isEmpty { flags.append("--spark-args=" + arguments.joined(separator: " ")) }
        if let exchange { flags += ["--spark-exchange", exchange] }
        return flags
    }
}
