using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StreamEnrich.Tests.Fixtures;

/// <summary>
/// A small Confluent-compatible Schema Registry on Kestrel (127.0.0.1, ephemeral port) for tests:
/// <c>GET /schemas/ids/{id}</c>, <c>GET /subjects/{subject}/versions</c>, <c>GET /subjects/{subject}/versions/{version|latest}</c>,
/// with the registry's error bodies (<c>{"error_code":40403,"message":"Schema not found"}</c>). Optional basic or bearer
/// auth, injected failures (<see cref="FailNext"/>), a request log. Start with <see cref="StartAsync"/>; dispose to stop.
/// </summary>
public sealed class SchemaRegistryServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<int, Entry> _byId = new();
    private readonly ConcurrentDictionary<string, List<int>> _subjects = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly ConcurrentQueue<string?> _authorizations = new();
    private WebApplication? _app;
    private int _nextId;
    private int _failures;
    private int _failureStatus = 503;

    private sealed record Entry(int Id, string Subject, int Version, string Schema, string SchemaType, IReadOnlyList<(string Name, string Subject, int Version)> References);

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Url { get; private set; } = "";

    /// <summary>When set, requests must carry exactly this Authorization header value (else 401).</summary>
    public string? RequiredAuthorization { get; set; }

    /// <summary>Paths requested, in order.</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>Authorization header of each request (null when absent).</summary>
    public IReadOnlyCollection<string?> Authorizations => _authorizations;

    /// <summary>Starts the server; with <paramref name="certificate"/> it serves https with that certificate.</summary>
    public static async Task<SchemaRegistryServer> StartAsync(int firstId = 1, X509Certificate2? certificate = null)
    {
        var server = new SchemaRegistryServer { _nextId = firstId };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0, l =>
        {
            if (certificate is not null) l.UseHttps(certificate);
        }));
        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
        return server;
    }

    /// <summary>A self-signed certificate for 127.0.0.1 / localhost (it is its own CA), for https tests.</summary>
    public static X509Certificate2 CreateSelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=streamenrich-test-registry", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Registers a schema under a subject (a new version); returns its id.</summary>
    public int Register(string subject, string schema, string schemaType = "AVRO", params (string Name, string Subject, int Version)[] references)
    {
        var id = Interlocked.Increment(ref _nextId) - 1;
        var versions = _subjects.GetOrAdd(subject, _ => []);
        int version;
        lock (versions)
        {
            versions.Add(id);
            version = versions.Count;
        }
        _byId[id] = new Entry(id, subject, version, schema, schemaType, references);
        return id;
    }

    /// <summary>The next <paramref name="count"/> requests fail with <paramref name="status"/> (503 by default).</summary>
    public void FailNext(int count, int status = 503)
    {
        _failureStatus = status;
        Volatile.Write(ref _failures, count);
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task HandleAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "";
        _requests.Enqueue(path);
        string? auth = ctx.Request.Headers.Authorization.Count > 0 ? ctx.Request.Headers.Authorization.ToString() : null;
        _authorizations.Enqueue(auth);
        if (RequiredAuthorization is { } required && auth != required)
        {
            await Error(ctx, 401, 40101, "Unauthorized");
            return;
        }
        if (Interlocked.Decrement(ref _failures) >= 0)
        {
            await Error(ctx, _failureStatus, _failureStatus * 100 + 1, "Injected failure");
            return;
        }
        var parts = path.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        if (ctx.Request.Method != "GET")
        {
            await Error(ctx, 405, 405, "Method not allowed");
            return;
        }
        if (parts is ["schemas", "ids", var idText] && int.TryParse(idText, out var id))
        {
            if (!_byId.TryGetValue(id, out var e))
            {
                await Error(ctx, 404, 40403, "Schema not found");
                return;
            }
            await Json(ctx, new Dictionary<string, object?>
            {
                ["schema"] = e.Schema,
                ["schemaType"] = e.SchemaType == "AVRO" ? null : e.SchemaType, // the real registry omits AVRO
                ["references"] = e.References.Select(r => new { name = r.Name, subject = r.Subject, version = r.Version }).ToArray(),
            });
            return;
        }
        if (parts is ["subjects", var subject, "versions"])
        {
            if (!_subjects.TryGetValue(subject, out var versions))
            {
                await Error(ctx, 404, 40401, $"Subject '{subject}' not found.");
                return;
            }
            lock (versions) _ = versions.Count;
            await Json(ctx, Enumerable.Range(1, versions.Count).ToArray());
            return;
        }
        if (parts is ["subjects", var subj, "versions", var versionText])
        {
            if (!_subjects.TryGetValue(subj, out var versions))
            {
                await Error(ctx, 404, 40401, $"Subject '{subj}' not found.");
                return;
            }
            int index;
            lock (versions) index = versionText == "latest" ? versions.Count : int.TryParse(versionText, out var v) ? v : -1;
            if (index < 1 || index > versions.Count)
            {
                await Error(ctx, 404, 40402, "Version not found.");
                return;
            }
            var e = _byId[versions[index - 1]];
            await Json(ctx, new Dictionary<string, object?>
            {
                ["subject"] = e.Subject, ["version"] = e.Version, ["id"] = e.Id, ["schema"] = e.Schema,
                ["schemaType"] = e.SchemaType == "AVRO" ? null : e.SchemaType,
                ["references"] = e.References.Select(r => new { name = r.Name, subject = r.Subject, version = r.Version }).ToArray(),
            });
            return;
        }
        await Error(ctx, 404, 404, "HTTP 404 Not Found");
    }

    private static Task Json(HttpContext ctx, object body)
    {
        ctx.Response.ContentType = "application/vnd.schemaregistry.v1+json";
        return ctx.Response.WriteAsync(JsonSerializer.Serialize(body, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
    }

    private static Task Error(HttpContext ctx, int status, int code, string message)
    {
        ctx.Response.StatusCode = status;
        return Json(ctx, new { error_code = code, message });
    }
}
