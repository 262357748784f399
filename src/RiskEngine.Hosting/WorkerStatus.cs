namespace RiskEngine.Hosting;

/// <summary>What the health check and progress line report; written by the worker, read by anyone.</summary>
public sealed class WorkerStatus
{
    private long _backlog;

    /// <summary>True once recovery finished and events are being decided.</summary>
    public bool Running { get; set; }

    /// <summary>Set when the worker stopped on an error; the process exits non-zero.</summary>
    public Exception? Failure { get; set; }

    /// <summary>Lines read but not yet decided.</summary>
    public long Backlog => Interlocked.Read(ref _backlog);

    /// <summary>The last error of the state store, cleared by the next successful commit.</summary>
    public string? StoreError { get; set; }

    /// <summary>The store, when it can report itself degraded while it commits (a failing write-back).</summary>
    public RiskEngine.State.IStoreHealth? Store { get; init; }

    /// <summary>What readiness and <c>riskengine.store.up</c> report: a failed batch, else the store's own problem; null while healthy.</summary>
    public string? StoreProblem => StoreError ?? Store?.Problem;

    /// <summary>The last refused policy file, cleared when a good one is applied.</summary>
    public string? PolicyError { get; set; }

    internal void AddBacklog(long delta) => Interlocked.Add(ref _backlog, delta);
}
