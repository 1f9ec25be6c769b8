using System.Net.Http.Headers;
using System.Text;

namespace StreamEnrich.Tests.Fixtures;

/// <summary>Setup and check queries over ClickHouse's plain HTTP interface, for the test fixtures.</summary>
internal static class ClickHouseHttp
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private static int _tableCounter;

    /// <summary>Runs one statement; returns the response body; throws with ClickHouse's message on failure.</summary>
    public static async Task<string> QueryAsync(Uri url, string sql, string? settings = null)
    {
        var uri = new Uri(url, settings is null ? "" : "?" + settings);
        using var content = new StringContent(sql, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
        using var resp = await Http.PostAsync(uri, content);
        var body = await resp.Content.ReadAsStringAsync();
        if (!resp.IsSuccessStatusCode)
            throw new InvalidOperationException($"ClickHouse answered {(int)resp.StatusCode} to `{sql}`: {body}");
        return body;
    }

    /// <summary>Creates a table with a name unique to this run; returns the name (in database <c>default</c>).</summary>
    public static async Task<string> CreateUniqueTableAsync(Uri url, string prefix, string columnsDdl, string engine = "Memory", string? settings = null)
    {
        var name = $"{prefix}_{Environment.ProcessId}_{Interlocked.Increment(ref _tableCounter)}_{Guid.NewGuid().ToString("N")[..6]}";
        await QueryAsync(url, $"CREATE TABLE default.{name} ({columnsDdl}) ENGINE = {engine}", settings);
        return name;
    }
}
