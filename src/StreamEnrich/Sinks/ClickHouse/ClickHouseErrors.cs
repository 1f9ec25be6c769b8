using System.Globalization;
using System.Text.RegularExpressions;

namespace StreamEnrich.Sinks.ClickHouse;

/// <summary>ClickHouse server error codes the sink knows by name, and whether retrying the same insert can succeed.</summary>
internal static partial class ClickHouseErrorCodes
{
    /// <summary>code → (name, retryable). Codes not listed are permanent.</summary>
    private static readonly Dictionary<int, (string Name, bool Retryable)> Known = new()
    {
        // false = permanent: the request, table or credentials are wrong; retrying cannot help.
        // true = transient: the server is busy, read-only for a while, restarting or briefly unreachable.
        [16] = ("NO_SUCH_COLUMN_IN_TABLE", false),
        [27] = ("CANNOT_PARSE_INPUT_ASSERTION_FAILED", false),
        [33] = ("CANNOT_READ_ALL_DATA", false),
        [46] = ("UNKNOWN_FUNCTION", false),
        [47] = ("UNKNOWN_IDENTIFIER", false),
        [53] = ("TYPE_MISMATCH", false),
        [60] = ("UNKNOWN_TABLE", false),
        [62] = ("SYNTAX_ERROR", false),
        [73] = ("UNKNOWN_FORMAT", false),
        [81] = ("UNKNOWN_DATABASE", false),
        [115] = ("UNKNOWN_SETTING", false),
        [117] = ("INCORRECT_DATA", false),
        [164] = ("READONLY", true),
        [192] = ("UNKNOWN_USER", false),
        [193] = ("WRONG_PASSWORD", false),
        [194] = ("REQUIRED_PASSWORD", false),
        [195] = ("IP_ADDRESS_NOT_ALLOWED", false),
        [241] = ("MEMORY_LIMIT_EXCEEDED", true),
        [242] = ("TABLE_IS_READ_ONLY", true),
        [252] = ("TOO_MANY_PARTS", true),
        [497] = ("ACCESS_DENIED", false),
        [516] = ("AUTHENTICATION_FAILED", false),
        [159] = ("TIMEOUT_EXCEEDED", true),
        [202] = ("TOO_MANY_SIMULTANEOUS_QUERIES", true),
        [203] = ("NO_FREE_CONNECTION", true),
        [209] = ("SOCKET_TIMEOUT", true),
        [210] = ("NETWORK_ERROR", true),
        [216] = ("QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING", true),
        [236] = ("ABORTED", true),
        [285] = ("TOO_FEW_LIVE_REPLICAS", true),
        [319] = ("UNKNOWN_STATUS_OF_INSERT", true),
        [394] = ("QUERY_WAS_CANCELLED", true),
        [425] = ("SYSTEM_ERROR", true),
        [999] = ("KEEPER_EXCEPTION", true),
    };

    public static string Name(int code) => Known.TryGetValue(code, out var k) ? k.Name : "code " + code.ToString(CultureInfo.InvariantCulture);

    public static bool IsRetryable(int code) => Known.TryGetValue(code, out var k) && k.Retryable;

    /// <summary>HTTP statuses that mean "try again later" whatever the body says (proxies, load balancers).</summary>
    public static bool IsRetryableStatus(int httpStatus) => httpStatus is 408 or 429 or 502 or 503 or 504;

    /// <summary>
    /// Reads the error code from a response body: <c>Code: 60, e.displayText() = DB::Exception: ...</c> (18.x) or
    /// <c>Code: 60. DB::Exception: ...</c> (newer servers). Returns null when the body has no code.
    /// </summary>
    public static int? ParseCode(ReadOnlySpan<char> body)
    {
        var m = CodeRegex().Match(body.Length > 200 ? body[..200].ToString() : body.ToString());
        return m.Success && int.TryParse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var c) ? c : null;
    }

    [GeneratedRegex(@"^\s*Code:\s*(\d+)\s*[,.]")]
    private static partial Regex CodeRegex();
}

/// <summary>ClickHouse answered with an error.</summary>
internal sealed class ClickHouseServerException(int? code, int httpStatus, string serverMessage, bool retryable)
    : Exception(Describe(code, httpStatus, serverMessage))
{
    public int? Code { get; } = code;
    public int HttpStatus { get; } = httpStatus;
    public string ServerMessage { get; } = serverMessage;
    public bool IsRetryable { get; } = retryable;

    private static string Describe(int? code, int status, string msg) =>
        code is { } c
            ? $"ClickHouse error {c} ({ClickHouseErrorCodes.Name(c)}, HTTP {status}): {msg.Trim()}"
            : $"ClickHouse answered HTTP {status}: {msg.Trim()}";

    public static ClickHouseServerException FromResponse(int httpStatus, string body, string? codeHeader)
    {
        int? code = int.TryParse(codeHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var h) ? h : ClickHouseErrorCodes.ParseCode(body);
        if (body.Length > 4000) body = body[..4000] + "...";
        var retryable = ClickHouseErrorCodes.IsRetryableStatus(httpStatus) || (code is { } c && ClickHouseErrorCodes.IsRetryable(c));
        return new ClickHouseServerException(code, httpStatus, body, retryable);
    }
}

/// <summary>The request did not get an answer: connection refused or reset, DNS, TLS, or the per-request timeout. Always retryable.</summary>
internal sealed class ClickHouseTransportException(string message, Exception? inner, bool isPermanent = false) : Exception(message, inner)
{
    /// <summary>
    /// Retrying cannot help (the server's certificate was rejected: it will not become trusted until the configuration
    /// changes and the pipeline restarts), so the sink fails instead of retrying.
    /// </summary>
    public bool IsPermanent { get; } = isPermanent;
}

/// <summary>
/// The sink cannot go on: a permanent ClickHouse error (unknown table, bad credentials, type mismatch...) or retries
/// exhausted. The message carries ClickHouse's own text and, where known, a hint.
/// </summary>
public sealed class ClickHouseSinkException : Exception
{
    public ClickHouseSinkException(string message) : base(message) { }
    public ClickHouseSinkException(string message, Exception inner) : base(message, inner) { }
    public ClickHouseSinkException() { }

    /// <summary>The ClickHouse error code when the server gave one.</summary>
    public int? Code { get; init; }
}
