using Microsoft.Data.Sqlite;
using RiskEngine.Domain;
using RiskEngine.Security;
using RiskEngine.State;

namespace RiskEngine.Sqlite;

// WAL checkpoints on a background connection.
public sealed partial class SqliteRiskStateStore
{
    /// <summary>
    /// Checkpoints the WAL on its own connection and thread when woken (every <see cref="SqliteStoreOptions.CheckpointBytes"/>
    /// appended, and after a write-back), so the commit path only appends to the WAL: a passive pass copies the pages
    /// beside the writer, then a restart pass copies the few frames added meanwhile and lets the WAL start over, which
    /// keeps it near that size (<c>journal_size_limit</c> trims the file).
    /// </summary>
    private sealed class Checkpointer : IDisposable
    {
        private readonly string _connection;
        private readonly Thread _thread;
        private readonly AutoResetEvent _wake = new(false);
        private volatile bool _stop;

        public Checkpointer(string connection)
        {
            _connection = connection;
            _thread = new Thread(Run) { IsBackground = true, Name = "sqlite checkpoint" };
            _thread.Start();
        }

        public void Signal() => _wake.Set();

        private void Run()
        {
            SqliteConnection? db = null;
            try
            {
                while (true)
                {
                    _wake.WaitOne();
                    if (_stop) return;
                    try
                    {
                        if (db is null)
                        {
                            db = new SqliteConnection(_connection);
                            db.Open();
                            using var setup = db.CreateCommand();
                            setup.CommandText = "PRAGMA busy_timeout=5000; PRAGMA journal_size_limit=67108864;";
                            setup.ExecuteNonQuery();
                        }
                        using var cmd = db.CreateCommand();
                        // The bulk of the copy runs beside the writer; a writer that never pauses would keep the
                        // WAL from ever starting over, so a RESTART pass then copies what arrived meanwhile (a few
                        // batches: the writer waits that long) and lets the next commit write from the WAL's start.
                        cmd.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                        cmd.ExecuteNonQuery();
                        cmd.CommandText = "PRAGMA wal_checkpoint(RESTART)";
                        cmd.ExecuteNonQuery();
                    }
                    catch (SqliteException)
                    {
                        // Busy or I/O trouble: the next wake tries again, and closing the store checkpoints anyway.
                    }
                }
            }
            finally
            {
                db?.Dispose();
            }
        }

        public void Dispose()
        {
            _stop = true;
            _wake.Set();
            _thread.Join();
            _wake.Dispose();
        }
    }
}
