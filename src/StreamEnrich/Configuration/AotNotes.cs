namespace StreamEnrich.Configuration;

/// <summary>Why the reflection over options classes works in the ahead-of-time compiled image.</summary>
internal static class AotNotes
{
    /// <summary>
    /// The justification of each suppressed trim/AOT warning in the options binder, its metadata and the reference docs:
    /// options classes (and the types of their properties) live in streamenrich and StreamEnrich.Abstractions, which the
    /// image's publish profile keeps whole (<c>TrimmerRootAssembly</c>), so their public properties and constructors are
    /// there at run time; every list, dictionary and array type the binder makes is the declared type of such a property,
    /// so its code is compiled. CI checks the image's binary on every sample pipeline, the reference docs (every options
    /// class) and the command-line tests.
    /// </summary>
    public const string OptionsClassesKept = "Options classes are kept whole by the image's publish profile (TrimmerRootAssembly); see AotNotes.";
}
