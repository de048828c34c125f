import Foundation
import UnfoldHTTP
import UnfoldMetrics
import UnfoldServing

/// `GET /metrics`: the Prometheus text exposition (format 0.0.4) of the service, its models,
/// jobs, ingest and process. Readable without the admin token only from loopback, unless
/// `metrics_public` is set (`AdminAuthMiddleware` enforces it).
struct MetricsRoutes {
    let store: ModelStore
    let jobs: JobSupervisor
    let metrics: ServiceMetrics
    let logs: LogWriter
    let version: String
    /// Extra families from other layers (the HTTP server's), rendered last.
    let more: @Sendable (inout Exposition) -> Void

    func register(on router: HTTPRouter) {
        router.add("GET", "/metrics") { _ in
            var response = HTTPResponse(status: .ok, body: Array(render().text.utf8))
            response.headers.add(name: "Content-Type", value: Exposition.contentType)
            return response
        }
    }

    func render() -> Exposition {
        var e = Exposition()
        recommendations(&e)
        models(&e)
        jobRecords(&e)
        ingest(&e)
        more(&e)
        process(&e)
        return e
    }

    private func recommendations(_ e: inout Exposition) {
        let served = store.all.sorted { $0.name < $1.name }
        e.family("unfold_recommendations_total", "counter", "Recommendations answered, by model and source (model: encoded by the model; popular: the popularity fallback).")
        for m in served {
            e.sample("unfold_recommendations_total", [("model", m.name), ("source", "model")], m.stats.fromModel.count)
            e.sample("unfold_recommendations_total", [("model", m.name), ("source", "popular")], m.stats.fromPopular.count)
        }
        e.family("unfold_recommend_unknown_items_total", "counter", "Posted item ids the model did not know.")
        for m in served { e.sample("unfold_recommend_unknown_items_total", [("model", m.name)], m.stats.unknownItems.count) }
        e.family("unfold_fold_in_failures_total", "counter", "Queries whose fold-in could not be solved (answered by popularity).")
        for m in served { e.sample("unfold_fold_in_failures_total", [("model", m.name)], m.stats.foldInFailures.count) }
        e.family("unfold_recommend_duration_seconds", "histogram", "Time to answer a recommend query (encode, retrieve, filter, or the popularity fallback).")
        for m in served { e.histogram("unfold_recommend_duration_seconds", [("model", m.name)], m.stats.recommendSeconds) }
        e.family("unfold_encode_duration_seconds", "histogram", "Time to encode a query (fold-in, tower forward pass, mean pooling).")
        for m in served { e.histogram("unfold_encode_duration_seconds", [("model", m.name)], m.stats.encodeSeconds) }
        e.family("unfold_retrieval_duration_seconds", "histogram", "Time to retrieve and filter a query's items.")
        for m in served { e.histogram("unfold_retrieval_duration_seconds", [("model", m.name)], m.stats.retrievalSeconds) }
        e.family("unfold_retrieval_candidates_rescored_total", "counter", "Rows the exact rescan of the bfloat16 scan scored.")
        for m in served { e.sample("unfold_retrieval_candidates_rescored_total", [("model", m.name)], m.stats.candidatesRescored.count) }
    }

    private func models(_ e: inout Exposition) {
        let served = store.all.sorted { $0.name < $1.name }
        let now = Date().timeIntervalSince1970
        e.family("unfold_model_active_version", "gauge", "The version each model name serves.")
        for m in served { e.sample("unfold_model_active_version", [("model", m.name)], Double(m.version)) }
        e.family("unfold_model_snapshot_age_seconds", "gauge", "Seconds since the served snapshot was written.")
        for m in served { e.sample("unfold_model_snapshot_age_seconds", [("model", m.name)], max(0, now - Double(m.model.createdAt))) }
        e.family("unfold_model_items", "gauge", "Items in the served model's table.")
        for m in served { e.sample("unfold_model_items", [("model", m.name)], Double(m.itemCount)) }
        let events = metrics.snapshot()
        e.family("unfold_model_load_duration_seconds", "histogram", "Time to open, verify, prepare and smoke-test a snapshot.")
        for name in events.load.keys.sorted() { e.histogram("unfold_model_load_duration_seconds", [("model", name)], events.load[name]!) }
        e.family("unfold_model_swaps_total", "counter", "Versions swapped in, by model name.")
        for name in events.swaps.keys.sorted() { e.sample("unfold_model_swaps_total", [("model", name)], events.swaps[name]!) }
        e.family("unfold_model_held_back_total", "counter", "Candidate versions the promotion gate held back.")
        for name in events.heldBack.keys.sorted() { e.sample("unfold_model_held_back_total", [("model", name)], events.heldBack[name]!) }
        e.family("unfold_model_rejections_total", "counter", "Snapshot files refused, by the check that failed.")
        for check in events.rejections.keys.sorted() { e.sample("unfold_model_rejections_total", [("check", check)], events.rejections[check]!) }
    }

    private func jobRecords(_ e: inout Exposition) {
        let all = jobs.jobs
        e.family("unfold_jobs", "gauge", "Training jobs the server knows, by state.")
        for state in ["queued", "running", "succeeded", "failed", "cancelled", "interrupted"] {
            e.sample("unfold_jobs", [("state", state)], Double(all.filter { $0.state.rawValue == state }.count))
        }
        e.family("unfold_job_duration_seconds", "histogram", "Wall time of finished training jobs.")
        e.histogram("unfold_job_duration_seconds", [], metrics.jobSeconds)
        e.family("unfold_job_progress_ratio", "gauge", "The running jobs' progress: epochs done over epochs planned.")
        for job in all where job.state == .running {
            if let epoch = job.progress?.epoch, let epochs = job.progress?.epochs, epochs > 0 {
                e.sample("unfold_job_progress_ratio", [("job", job.id), ("model", job.model)], Double(epoch) / Double(epochs))
            }
        }
    }

    private func ingest(_ e: inout Exposition) {
        e.family("unfold_ingest_records_total", "counter", "Interaction records posted, by outcome (accepted: on disk; rejected: a bad batch).")
        e.sample("unfold_ingest_records_total", [("outcome", "accepted")], metrics.recordsAccepted.count)
        e.sample("unfold_ingest_records_total", [("outcome", "rejected")], metrics.recordsRejected.count)
        e.family("unfold_ingest_batches_total", "counter", "Ingest requests, by outcome.")
        e.sample("unfold_ingest_batches_total", [("outcome", "accepted")], metrics.batchesAccepted.count)
        e.sample("unfold_ingest_batches_total", [("outcome", "rejected")], metrics.batchesRejected.count)
        e.family("unfold_ingest_fsync_duration_seconds", "histogram", "Time of each group commit's fdatasync of the interaction log.")
        e.histogram("unfold_ingest_fsync_duration_seconds", [], metrics.logSyncSeconds)
        e.family("unfold_ingest_commit_batches", "histogram", "Ingest requests carried by one group commit (one write, one fdatasync).")
        e.histogram("unfold_ingest_commit_batches", [], metrics.logCommitBatches)
        e.family("unfold_ingest_log_bytes_total", "counter", "Bytes appended to the interaction log.")
        e.sample("unfold_ingest_log_bytes_total", [], metrics.logBytes.count)
    }

    private func process(_ e: inout Exposition) {
        e.family("unfold_log_lines_dropped_total", "counter", "Log lines dropped because the log writer's buffer was full.")
        e.sample("unfold_log_lines_dropped_total", [], logs.dropped)
        if let rss = ProcessMetrics.residentBytes {
            e.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
            e.sample("process_resident_memory_bytes", [], rss)
        }
        if let fds = ProcessMetrics.openDescriptors {
            e.family("process_open_fds", "gauge", "Number of open file descriptors.")
            e.sample("process_open_fds", [], fds)
        }
        if let max = ProcessMetrics.maxDescriptors {
            e.family("process_max_fds", "gauge", "Maximum number of open file descriptors.")
            e.sample("process_max_fds", [], max)
        }
        e.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.")
        e.sample("process_start_time_seconds", [], ProcessMetrics.startTime)
        e.family("unfold_build_info", "gauge", "The build: version and git commit (value 1).")
        e.sample("unfold_build_info", [("version", version), ("commit", ProcessMetrics.gitCommit)], 1.0)
    }
}
