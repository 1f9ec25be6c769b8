namespace StreamEnrich.Tests.Formats.Avro;

/// <summary>Locates the shared Apache Avro test files: <c>&lt;repo&gt;/../shared/testdata/avro</c>, and this folder's Data/.</summary>
internal static class AvroTestData
{
    private static readonly Lazy<string> RepoRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "StreamEnrich.sln"))) return dir.FullName;
        throw new InvalidOperationException($"StreamEnrich.sln not found above {AppContext.BaseDirectory}.");
    });

    /// <summary>
    /// A file of <c>shared/testdata/avro</c>: normally <c>&lt;repo&gt;/../shared</c>; a git worktree nested one level
    /// deeper finds it in the nearest ancestor that has a <c>shared</c> folder.
    /// </summary>
    public static string Shared(string file)
    {
        for (var dir = Directory.GetParent(RepoRoot.Value); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "shared", "testdata", "avro", file);
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException($"Avro test file {file} not found in <repo>/../shared/testdata/avro (clone the repository with the `shared` folder beside it).", file);
    }

    public static string Local(string file) =>
        Path.Combine(RepoRoot.Value, "tests", "StreamEnrich.Tests", "Formats", "Avro", "Data", file);
}
