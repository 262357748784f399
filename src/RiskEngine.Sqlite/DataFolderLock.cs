namespace RiskEngine.Sqlite;

/// <summary>
/// An exclusive lock on a data folder (<c>DATA/worker.lock</c>), held by the worker for its lifetime. Tools that
/// write state (support unfreeze, TOTP) take it too, so they never change an account under a running worker,
/// whose cached state would then overwrite theirs. The operating system releases it if the process dies.
/// </summary>
public sealed class DataFolderLock : IDisposable
{
    private readonly FileStream _file;

    private DataFolderLock(FileStream file) => _file = file;

    /// <summary>Takes the lock, or returns null when another process holds it.</summary>
    public static DataFolderLock? TryAcquire(string dataFolder)
    {
        Directory.CreateDirectory(dataFolder);
        try
        {
            var file = new FileStream(Path.Combine(dataFolder, "worker.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new DataFolderLock(file);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
