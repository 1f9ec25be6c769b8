using StreamEnrich.Configuration;

namespace StreamEnrich.Configuration;

/// <summary>What to do with a record that cannot be processed.</summary>
public enum OnError
{
    /// <summary>Send it to the dead-letter topic or file with the reason, then count its offset as done.</summary>
    DeadLetter,
    /// <summary>Log and count it, then count its offset as done (it is not inserted).</summary>
    Skip,
    /// <summary>Stop the pipeline with the reason; the offset is not committed past it.</summary>
    Fail,
}

/// <summary>One pipeline: one Kafka topic (or list) into one ClickHouse table.</summary>
public sealed class PipelineOptions : IValidatableOptions
{
    [Option("Pipeline name, unique within a process; used in logs, metrics and default group id. Defaults to the file name.")]
    public string? Name { get; set; }

    [Option("The Kafka source.", Required = true)]
    public KafkaSourceOptions Source { get; set; } = new();

    [Option("How message values are decoded.")]
    public FormatOptions Format { get; set; } = new();

    [Option("Ordered list of stages; each item has a `type` and that stage's options.")]
    public List<StageDeclaration> Stages { get; set; } = [];

    [Option("The ClickHouse table rows are inserted into.", Required = true)]
    public ClickHouseSinkOptions Sink { get; set; } = new();

    [Option("When a batch is flushed: by rows, bytes or age, whichever comes first.")]
    public BatchOptions Batch { get; set; } = new();

    [Option("What happens to a record that fails to decode, transform or convert.")]
    public OnError OnError { get; set; } = OnError.DeadLetter;

    [Option("Where failed records go when on_error is dead_letter.")]
    public DeadLetterOptions? DeadLetter { get; set; }

    [Option("Parallel workers for decoding and stages. Order per partition is kept whatever the value.", Example = "2")]
    public int Parallelism { get; set; } = Math.Max(1, Environment.ProcessorCount);

    [Option("Tests carried by the pipeline file: input messages and the rows expected from them (run by `streamenrich test`).")]
    public List<PipelineTestCase> Tests { get; set; } = [];

    public void Validate(OptionsValidationContext context)
    {
        if (Parallelism is < 1 or > 256)
            context.Error(nameof(Parallelism), $"parallelism must be between 1 and 256, got {Parallelism}.");
        if (OnError == OnError.DeadLetter && DeadLetter is null)
            context.Error(nameof(OnError), "on_error is dead_letter but no dead_letter section says where failed records go.",
                "Add `dead_letter: { topic: <name> }` or `dead_letter: { file: <path> }`, or set `on_error: skip` or `fail`.");
    }
}

/// <summary>A stage as declared in YAML: its type, optional name, and the raw options bound by the stage's spec.</summary>
public sealed class StageDeclaration
{
    public required string Type { get; init; }
    public string? Name { get; init; }
    /// <summary>The bound options object (of the spec's <see cref="StageSpec.OptionsType"/>).</summary>
    public required object Options { get; init; }
    public required SourceLocation Location { get; init; }
    public required StageSpec Spec { get; init; }
    /// <summary>Where each key of the stage's mapping was written (<c>type</c>, <c>name</c> and the option keys), for errors found later (build, unknown fields).</summary>
    public IReadOnlyDictionary<string, SourceLocation> OptionLocations { get; init; } = new Dictionary<string, SourceLocation>();
    public string DisplayName(int index) => Name ?? $"{Type}#{index + 1}";
    /// <summary>The position of option <paramref name="key"/> (its YAML key), or of the stage when the key was not written.</summary>
    public SourceLocation LocationOf(string key) => OptionLocations.TryGetValue(key, out var at) ? at : Location;
}

/// <summary>A place in a pipeline file.</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

public sealed class KafkaSourceOptions : IValidatableOptions
{
    [Option("Kafka bootstrap servers (host:port list). `${KAFKA_BROKERS}` style substitution works here as everywhere.", Required = true, Example = "localhost:9092")]
    public string Brokers { get; set; } = "";

    [Option("The topic to consume.", Example = "web-events")]
    public string? Topic { get; set; }

    [Option("Several topics into the same table (instead of `topic`).")]
    public List<string> Topics { get; set; } = [];

    [Option("Consumer group id. Defaults to `streamenrich-<pipeline name>`.")]
    public string? GroupId { get; set; }

    [Option("Where a group with no committed offset starts: earliest or latest.")]
    public string StartFrom { get; set; } = "earliest";

    [Option("How this instance gets its partitions. `group`: the consumer group shares them among the instances and moves them when one joins, leaves or fails. `static`: this instance reads `partitions` (default: every partition, including ones added later) with no group membership, so it starts without the group's join delay and never stops for a rebalance, but nothing takes over if it stops: run exactly one instance per partition set. Offsets are committed to `group_id` either way.")]
    public string Assignment { get; set; } = "group";

    [Option("With `assignment: static`: the partition numbers to read, of every topic. Empty: all of them, and partitions added to the topic later.", Example = "[0, 1, 2]")]
    public List<int> Partitions { get; set; } = [];

    [Option("With `assignment: static` and no `partitions` list: how often the topics' metadata is checked for added partitions. An added partition is read from its committed offset, else from its first offset (whatever start_from says, since all of it was written after the pipeline started).")]
    public TimeSpan PartitionDiscoveryInterval { get; set; } = TimeSpan.FromSeconds(30);

    public bool IsStatic => Assignment == "static";

    [Option("Any librdkafka consumer property (security.protocol, sasl.*, ssl.*, fetch.max.bytes...), passed through as is.")]
    public Dictionary<string, string> Properties { get; set; } = [];

    [Option("How often finished offsets are committed.")]
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    [Option("Messages per chunk handed to the pipeline (the unit of parallel work).")]
    public int ChunkSize { get; set; } = 500;

    [Option("Chunks buffered between the consumer and the stages before the consumer pauses its partitions.")]
    public int BufferedChunks { get; set; } = 8;

    public IReadOnlyList<string> AllTopics => Topic is null ? Topics : [Topic, .. Topics];

    public void Validate(OptionsValidationContext context)
    {
        if (AllTopics.Count == 0)
            context.Error(nameof(Topic), "source needs a topic.", "Add `topic: <name>` (or `topics: [a, b]`).");
        if (StartFrom is not ("earliest" or "latest"))
            context.Error(nameof(StartFrom), $"start_from must be earliest or latest, got '{StartFrom}'.");
        if (ChunkSize is < 1 or > 100_000)
            context.Error(nameof(ChunkSize), $"chunk_size must be between 1 and 100000, got {ChunkSize}.");
        if (BufferedChunks is < 1 or > 10_000)
            context.Error(nameof(BufferedChunks), $"buffered_chunks must be between 1 and 10000, got {BufferedChunks}.");
        if (CommitInterval <= TimeSpan.Zero)
            context.Error(nameof(CommitInterval), "commit_interval must be positive.");
        if (Assignment is not ("group" or "static"))
            context.Error(nameof(Assignment), $"assignment must be group or static, got '{Assignment}'.",
                "`group` (the default) lets several instances share the partitions; `static` reads them without a group.");
        if (Partitions.Count > 0 && !IsStatic)
            context.Error(nameof(Partitions), "partitions is only used with `assignment: static` (a consumer group assigns partitions itself).",
                "Add `assignment: static`, or remove `partitions`.");
        if (Partitions.Any(p => p < 0))
            context.Error(nameof(Partitions), $"partition numbers start at 0, got {Partitions.First(p => p < 0)}.");
        if (Partitions.Distinct().Count() != Partitions.Count)
            context.Error(nameof(Partitions), $"partitions lists {string.Join(", ", Partitions.GroupBy(p => p).Where(g => g.Count() > 1).Select(g => g.Key))} more than once.");
        if (PartitionDiscoveryInterval <= TimeSpan.Zero)
            context.Error(nameof(PartitionDiscoveryInterval), "partition_discovery_interval must be positive.");
    }
}

public sealed class FormatOptions : IValidatableOptions
{
    [Option("Payload format: json (UTF-8 JSON objects) or avro (Confluent wire format with a Schema Registry).")]
    public string Type { get; set; } = "json";

    [Option("The Schema Registry (format avro).")]
    public Formats.SchemaRegistry.SchemaRegistryOptions? Registry { get; set; }

    [Option("Reader schema file (Avro .avsc), relative to the pipeline file, for schema resolution (writer schema -> this one).")]
    public string? ReaderSchema { get; set; }

    [Option("Also decode message keys (Confluent wire format); their fields are named `<key_prefix>.<field>`.")]
    public bool DecodeKeys { get; set; }

    [Option("Field prefix for decoded key fields (with decode_keys).")]
    public string KeyPrefix { get; set; } = "key";

    public void Validate(OptionsValidationContext context)
    {
        if (Type is not ("json" or "avro"))
            context.Error(nameof(Type), $"unknown format '{Type}'.", "Use `json` or `avro`.");
        if (Type == "avro" && Registry is null)
            context.Error(nameof(Type), "format avro needs a schema registry.", "Add `registry: { url: http://<schema-registry>:8081 }` to `format`.");
    }
}

public sealed class BatchOptions : IValidatableOptions
{
    [Option("Flush when a batch holds this many rows.")]
    public int MaxRows { get; set; } = 50_000;

    [Option("Flush when a batch's message payloads add up to this many bytes.")]
    [ByteSize]
    public long MaxBytes { get; set; } = 16L * 1024 * 1024;

    [Option("Flush a non-empty batch this long after its first row arrived.")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(1);

    [Option("After a batch was flushed full (max_rows or max_bytes), and for the first batch, flush the next one as soon as the consumer has read every partition to its end and it holds at least a tenth of max_rows or max_bytes, instead of waiting for max_wait: the end of a backlog or burst is inserted at once. At most one such early flush follows each full batch, so a trickle of messages still waits for max_wait.")]
    public bool FlushWhenCaughtUp { get; set; } = true;

    [Option("When a batch is flushed before it is full (the end of a backlog, max_wait, shutdown) while inserts are idle, send it as up to sink.insert_concurrency inserts at once, each of at least 10,000 rows and a tenth of max_rows: ClickHouse writes them on several cores, so the last rows of a backlog are queryable sooner. Full batches are never split; the cost is a few more (smaller) parts for ClickHouse to merge.")]
    public bool SplitWhenIdle { get; set; } = true;

    public void Validate(OptionsValidationContext context)
    {
        if (MaxRows < 1) context.Error(nameof(MaxRows), "max_rows must be at least 1.");
        if (MaxBytes < 1024) context.Error(nameof(MaxBytes), "max_bytes must be at least 1KB.");
        if (MaxWait <= TimeSpan.Zero) context.Error(nameof(MaxWait), "max_wait must be positive.");
    }
}

public sealed class DeadLetterOptions : IValidatableOptions
{
    [Option("Kafka topic for failed records (on the source cluster).", Example = "web-events-dlq")]
    public string? Topic { get; set; }

    [Option("Local file (JSON lines) for failed records, instead of a topic.")]
    public string? File { get; set; }

    [Option("Extra librdkafka producer properties for the dead-letter producer.")]
    public Dictionary<string, string> Properties { get; set; } = [];

    public void Validate(OptionsValidationContext context)
    {
        if ((Topic is null) == (File is null))
            context.Error(null, "dead_letter needs exactly one of `topic` or `file`.");
    }
}

/// <summary>The ClickHouse table a pipeline writes to.</summary>
public sealed class ClickHouseSinkOptions : IValidatableOptions, IRelativePaths
{
    [Option("ClickHouse HTTP(S) endpoint.", Required = true, Example = "http://localhost:8123")]
    public string Url { get; set; } = "";

    [Option("Database.")]
    public string Database { get; set; } = "default";

    [Option("Table.", Required = true)]
    public string Table { get; set; } = "";

    [Option("User.")]
    public string User { get; set; } = "default";

    [Option("Password.")]
    public string Password { get; set; } = "";

    [Option("Explicit column ← field mapping; columns not listed take the field of the same name.")]
    public Dictionary<string, string> Columns { get; set; } = [];

    [Option("Table columns, for dry-run, `test` and `schema` without a server: a map of column name to ClickHouse type, in table order. `run` always reads the live table and warns when it differs from this.")]
    public Dictionary<string, string> Schema { get; set; } = [];

    [Option("ClickHouse settings sent with every insert (e.g. insert_quorum).")]
    public Dictionary<string, string> Settings { get; set; } = [];

    [Option("gzip the request bodies: true or false; when not set, gzip unless the server is on this machine (loopback), where compressing only costs CPU on both ends.")]
    public bool? Compress { get; set; }

    /// <summary>Whether request bodies are gzipped (<see cref="Compress"/>, or its loopback-aware default).</summary>
    public bool UseCompression => Compress ?? !(Uri.TryCreate(Url, UriKind.Absolute, out var u) && (u.IsLoopback || u.Host == "localhost"));

    [Option("Inserts in flight at once.")]
    public int InsertConcurrency { get; set; } = 2;

    [Option("Timeout for one insert request.")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    [Option("Retries of a transiently failing insert; -1 retries forever (the consumer stays paused meanwhile).")]
    public int MaxRetries { get; set; } = -1;

    [Option("First retry delay; doubles per attempt with jitter up to retry_max_backoff.")]
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    [Option("Longest delay between retries. While the pipeline shuts down (draining against --shutdown-timeout), at most 1s.")]
    public TimeSpan RetryMaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    [Option("https: accept any server certificate, without chain or host name checks (tests only; logged as a warning).")]
    public bool TlsSkipVerify { get; set; }

    [Option("https: PEM file of the CA(s) that issued the server's certificate, trusted in addition to the system's CAs; relative to the pipeline file.")]
    public string? TlsCaFile { get; set; }

    [Option("https: PEM client certificate presented to ClickHouse (mutual TLS), relative to the pipeline file; intermediate CA certificates may follow it in the file. Needs tls_key_file.")]
    public string? TlsCertFile { get; set; }

    [Option("https: the unencrypted PEM private key of tls_cert_file (PKCS#8 `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE KEY` or `BEGIN EC PRIVATE KEY`), relative to the pipeline file.")]
    public string? TlsKeyFile { get; set; }

    /// <summary>Makes the TLS file paths absolute, relative ones taken from <paramref name="baseDirectory"/> (the pipeline file's folder).</summary>
    public void ResolvePaths(string baseDirectory)
    {
        TlsCaFile = Resolve(baseDirectory, TlsCaFile);
        TlsCertFile = Resolve(baseDirectory, TlsCertFile);
        TlsKeyFile = Resolve(baseDirectory, TlsKeyFile);
    }

    private static string? Resolve(string? baseDirectory, string? path) => RelativePaths.Resolve(baseDirectory, path);

    public void Validate(OptionsValidationContext context)
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
            context.Error(nameof(Url), $"url must be an absolute http(s) URL, got '{Url}'.", "Example: `url: http://localhost:8123`.");
        if (InsertConcurrency is < 1 or > 64)
            context.Error(nameof(InsertConcurrency), $"insert_concurrency must be between 1 and 64, got {InsertConcurrency}.");
        if (Timeout <= TimeSpan.Zero) context.Error(nameof(Timeout), "timeout must be positive.");
        if (MaxRetries < -1) context.Error(nameof(MaxRetries), "max_retries must be -1 (forever) or at least 0.");
        CheckFile(context, nameof(TlsCaFile), "tls_ca_file", TlsCaFile, "Give the path of the PEM file of the CA that issued ClickHouse's certificate.");
        var hasCert = !string.IsNullOrEmpty(TlsCertFile);
        var hasKey = !string.IsNullOrEmpty(TlsKeyFile);
        if (hasCert != hasKey)
        {
            context.Error(hasCert ? nameof(TlsCertFile) : nameof(TlsKeyFile),
                hasCert ? "tls_cert_file is set without tls_key_file: a client certificate needs its private key."
                        : "tls_key_file is set without tls_cert_file: a private key needs its client certificate.",
                "Set both `tls_cert_file` (the PEM client certificate) and `tls_key_file` (its unencrypted PEM private key) for mutual TLS, or neither.");
        }
        CheckFile(context, nameof(TlsCertFile), "tls_cert_file", TlsCertFile, "Give the path of the PEM client certificate ClickHouse should accept (mutual TLS).");
        CheckFile(context, nameof(TlsKeyFile), "tls_key_file", TlsKeyFile, "Give the path of the unencrypted PEM private key of tls_cert_file.");
        if (hasCert && hasKey && File.Exists(Resolve(context.BaseDirectory, TlsCertFile)) && File.Exists(Resolve(context.BaseDirectory, TlsKeyFile)))
        {
            // load them now, so that `validate` already catches a file that is not PEM, an encrypted key or the wrong key
            try
            {
                var (certificate, intermediates) = Sinks.ClickHouse.ClickHouseHttpClient.LoadClientCertificate(
                    Resolve(context.BaseDirectory, TlsCertFile), Resolve(context.BaseDirectory, TlsKeyFile));
                certificate.Dispose();
                foreach (var c in intermediates) c.Dispose();
            }
            catch (Sinks.ClickHouse.ClickHouseSinkException e)
            {
                context.Error(e.Message.StartsWith("sink.tls_cert_file", StringComparison.Ordinal) ? nameof(TlsCertFile) : nameof(TlsKeyFile), e.Message);
            }
        }
        if ((hasCert || hasKey) && u is { Scheme: "http" })
            context.Error(hasCert ? nameof(TlsCertFile) : nameof(TlsKeyFile), "tls_cert_file and tls_key_file are for https, but url is plain http.",
                "Use an https:// url on ClickHouse's https_port, or remove the client certificate.");
    }

    /// <summary>A relative path is resolved against <see cref="OptionsValidationContext.BaseDirectory"/> (the pipeline file's folder).</summary>
    private static void CheckFile(OptionsValidationContext context, string property, string key, string? path, string hint)
    {
        if (string.IsNullOrEmpty(path)) return;
        var resolved = Resolve(context.BaseDirectory, path)!;
        if (File.Exists(resolved)) return;
        var shown = resolved == path ? $"'{path}'" : $"'{path}' ({resolved})";
        var why = System.IO.Directory.Exists(resolved) ? "is a folder, not a file" : "does not exist";
        context.Error(property, $"{key} {shown} {why}.", Path.IsPathRooted(path) ? hint : hint + " A relative path is taken from the pipeline file's folder.");
    }
}

/// <summary>A test case carried in a pipeline file.</summary>
public sealed class PipelineTestCase
{
    [Option("Test name.", Required = true)]
    public string Name { get; set; } = "";

    [Option("Input message values: objects (YAML or JSON); a string is the raw message value as written (JSON text for format json; for format avro, bytes that are not Avro, to test bad messages).")]
    public List<object> Input { get; set; } = [];

    [Option("format avro: the writer schema (.avsc, relative to the pipeline file) the object inputs are encoded with (Avro JSON encoding, Confluent framing); default `format.reader_schema`.")]
    public string? Schema { get; set; }

    [Option("The rows expected in the table, column → value (only the columns listed are compared).")]
    public List<Dictionary<string, object?>> Expect { get; set; } = [];

    [Option("How many records must go to the dead-letter path.")]
    public int? ExpectDeadLetters { get; set; }
}
