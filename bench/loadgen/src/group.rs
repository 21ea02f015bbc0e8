//! The group-commit loop the load generator's reference writers share (`lean`, `minimal`):
//! one task takes every job waiting in its queue as one batch, up to a bound, commits the
//! batch with the writer's own statements, and answers every caller of the batch with its
//! outcome once it is committed — the node writer's scheme, without the node's store.

use sea_orm::sqlx::{self, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction takes, as the node's writer.
const BATCH_MAX: usize = 256;

/// Jobs the queue holds before callers wait, as the node's writer.
const QUEUE_CAPACITY: usize = 4096;

/// A value to commit and its caller, waiting for the outcome.
type Job<T> = (T, oneshot::Sender<Result<(), String>>);

/// The queue of a writer task: made by [`Queue::new`], drained by [`run`].
pub struct Queue<T> {
    sender: mpsc::Sender<Job<T>>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
        }
    }
}

impl<T> Queue<T> {
    /// A queue and its receiving end, for [`run`] on the writer's task.
    pub fn new() -> (Self, mpsc::Receiver<Job<T>>) {
        let (sender, jobs) = mpsc::channel(QUEUE_CAPACITY);
        (Self { sender }, jobs)
    }

    /// Commits `value` with its batch; returns once the batch is durable. `writer` names the
    /// writer in the error when its task has stopped.
    pub async fn commit(&self, value: T, writer: &str) -> Result<(), String> {
        let stopped = || format!("the {writer} writer stopped");
        let (reply, answer) = oneshot::channel();
        self.sender
            .send((value, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The writer's task: until every queue is dropped, takes the waiting jobs as one batch and
/// commits it with `write` on `connection`, then answers each of the batch's callers.
pub async fn run<T>(
    mut connection: SqliteConnection,
    mut jobs: mpsc::Receiver<Job<T>>,
    mut write: impl AsyncFnMut(&mut SqliteConnection, &[&T]) -> Result<(), sqlx::Error>,
) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH_MAX {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let values: Vec<&T> = batch.iter().map(|(value, _)| value).collect();
        let outcome = write(&mut connection, &values)
            .await
            .map_err(|error| error.to_string());
        drop(values);
        for (_, reply) in batch {
            let _receiver_gone = reply.send(outcome.clone());
        }
    }
}
