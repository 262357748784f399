namespace RiskEngine.Tests;

/// <summary>A test class with a private temporary folder, deleted after the class's test; and the repository's samples.</summary>
public abstract class ScratchFolder : IDisposable
{
    private readonly DirectoryInfo _dir;

    /// <summary>Creates the folder, named after <paramref name="prefix"/>.</summary>
    protected ScratchFolder(string prefix) => _dir = Directory.CreateTempSubdirectory(prefix);

    /// <summary>A path inside the folder.</summary>
    protected string P(string name) => Path.Combine(_dir.FullName, name);

    /// <summary>A file of the repository's <c>samples/</c>, copied beside the test binaries.</summary>
    protected static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    /// <inheritdoc />
    public void Dispose()
    {
        Cleanup();
        _dir.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs before the folder is deleted.</summary>
    protected virtual void Cleanup()
    {
    }
}
