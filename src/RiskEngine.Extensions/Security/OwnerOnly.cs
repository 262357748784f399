namespace RiskEngine.Security;

/// <summary>
/// Files and folders that only their owner may read: the data folder's database, lock and health files, the worker's
/// output, the Data Protection key ring. On Unix a new file is created with mode 0600 and a new folder with 0700
/// (before the umask, which can only remove bits); on Windows these are no-ops and the folder's ACL applies.
/// </summary>
public static class OwnerOnly
{
    /// <summary><c>0600</c>: read and write for the owner.</summary>
    public const UnixFileMode FilePermissions = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary><c>0700</c>: read, write and search for the owner.</summary>
    public const UnixFileMode DirectoryPermissions = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates <paramref name="path"/> (and missing parents) as 0700 when it does not exist; an existing folder keeps its mode.</summary>
    public static DirectoryInfo CreateDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return OperatingSystem.IsWindows() ? Directory.CreateDirectory(path) : Directory.CreateDirectory(path, DirectoryPermissions);
    }

    /// <summary>Creates <paramref name="path"/> as 0700, or narrows an existing folder to 0700 (for folders that hold keys).</summary>
    public static void EnsureDirectory(string path)
    {
        CreateDirectory(path);
        Restrict(path, DirectoryPermissions);
    }

    /// <summary>Narrows an existing file to 0600; does nothing when it does not exist or belongs to another user.</summary>
    public static void RestrictFile(string path) => Restrict(path, FilePermissions);

    private static void Restrict(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            var current = File.GetUnixFileMode(path);
            if ((current & ~mode & (UnixFileMode)0x1FF) != 0) File.SetUnixFileMode(path, current & mode);
        }
        catch (FileNotFoundException)
        {
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (UnauthorizedAccessException)
        {
            // Another user's file (a shared, managed folder): its owner sets its mode.
        }
    }

    /// <summary>Options that open or create a file; a file it creates is 0600.</summary>
    public static FileStreamOptions Options(FileMode mode, FileAccess access, FileShare share, int bufferSize = 4096, FileOptions options = FileOptions.None)
    {
        var o = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows() && mode != FileMode.Open && mode != FileMode.Truncate) o.UnixCreateMode = FilePermissions;
        return o;
    }

    /// <summary>Writes <paramref name="contents"/> to <paramref name="path"/> through a 0600 temporary file renamed over it, so no reader sees half of it.</summary>
    public static async Task WriteAllTextAtomicallyAsync(string path, string contents, CancellationToken cancellationToken = default)
    {
        var tmp = path + ".tmp";
        File.Delete(tmp); // a leftover keeps its mode; a new one is created 0600
        await using (var stream = new FileStream(tmp, Options(FileMode.CreateNew, FileAccess.Write, FileShare.None)))
        await using (var writer = new StreamWriter(stream))
        {
            await writer.WriteAsync(contents.AsMemory(), cancellationToken);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
