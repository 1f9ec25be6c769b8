using StreamEnrich.Configuration;

namespace StreamEnrich.Stages;

/// <summary>The stage types that ship with StreamEnrich; <see cref="StageRegistry"/> starts with these.</summary>
internal static class BuiltInStages
{
    public static IEnumerable<StageSpec> All => [];
}
