using RiskEngine.Security;

namespace RiskEngine.Sqlite;

/// <summary>
/// An exclusive lock on a data folder (<c>DATA/worker.lock</c>), held by the worker for its lifetime. Tools that
/// write state (support unfreeze, TOTP) take it too, so they never change an account under a running worker,
/// whose cached state would then overwrite theirs. The operating system releases it if the process dies.
/// </summary>
public sealed class DataFolderLock : IDisposable
{
    /// <summary>The lock file's name in the data folder.</summary>
    public const string FileName = "worker.lock";

    private readonly FileStream _file;

    private DataFolderLock(FileStream file) => _file = file;

    /// <summary>
    /// Takes the lock, or returns null when another process holds it. Creates the folder (0700) and the lock file
    /// (0600) when missing.
    /// </summary>
    /// <exception cref="DataFolderException">The folder or its lock file cannot be created or opened (permissions,
    /// a read-only file system, a file in the way): an environment problem, not a running worker.</exception>
    public static DataFolderLock? TryAcquire(string dataFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataFolder);
        var path = Path.Combine(dataFolder, FileName);
        try
        {
            OwnerOnly.CreateDirectory(dataFolder);
            var file = new FileStream(path, OwnerOnly.Options(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            OwnerOnly.RestrictFile(path); // one left by an older version
            return new DataFolderLock(file);
        }
        catch (IOException e) when (IsHeldByAnother(e))
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFolderException(
                $"cannot create or open the lock file {path} of the data folder '{dataFolder}': {e.Message} " +
                "(check the folder's owner and permissions, and that its file system is writable)", e);
        }
    }

    /// <summary>
    /// True for the error of a lock held by another open file: <c>EWOULDBLOCK</c> from <c>flock</c> on Unix, a sharing
    /// or lock violation on Windows. Every other error (EACCES, EROFS, ENOENT, EISDIR...) is the environment's.
    /// </summary>
    internal static bool IsHeldByAnother(IOException e) =>
        e.GetType() == typeof(IOException) && (OperatingSystem.IsWindows()
            ? e.HResult is unchecked((int)0x80070020) or unchecked((int)0x80070021)
            : e.HResult == (OperatingSystem.IsLinux() ? 11 : 35));

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}

/// <summary>A data folder that cannot be used as one (its lock file cannot be created or opened); the message names the folder and the OS error.</summary>
public sealed class DataFolderException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DataFolderException(string message, Exception inner) : base(message, inner)
    {
    }
}
