/*
 * progress.c - the Keras progress bar:
 *
 *   Epoch 3/10
 *   782/782 [==============================] - 45s 57ms/step - loss: 0.3512 - accuracy: 0.8473
 *
 * On a terminal the line is redrawn in place ("\r") as batches finish, at
 * most every 50 ms; on a file or pipe only the finished line is written,
 * so logs stay readable.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fit.h"

enum { BAR_WIDTH = 30 };

double sn_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sn_progress_begin_epoch(sn_progress *p, FILE *out, int epoch,
                             int epochs, int steps)
{
    p->out = out;
    p->steps = steps;
    p->tty = out != NULL && fileno(out) >= 0 && isatty(fileno(out));
    p->epoch_start = sn_now_seconds();
    p->last_draw = 0.0;
    if (out != NULL)
        fprintf(out, "Epoch %d/%d\n", epoch + 1, epochs);
}

static void draw_bar(FILE *out, int step, int steps)
{
    int width = snprintf(NULL, 0, "%d", steps);
    fprintf(out, "%*d/%d [", width, step, steps);
    int done = steps > 0 ? (int)((long)BAR_WIDTH * step / steps) : BAR_WIDTH;
    for (int i = 0; i < BAR_WIDTH; i++) {
        if (i < done - 1 || (i == done - 1 && step == steps))
            fputc('=', out);
        else if (i == done - 1 || (i == 0 && done == 0))
            fputc('>', out);
        else
            fputc('.', out);
    }
    fputc(']', out);
}

static void draw_logs(FILE *out, char *const *names, const double *logs,
                      int n, const char *prefix)
{
    for (int i = 0; i < n; i++)
        fprintf(out, " - %s%s: %.4f", prefix, names[i], logs[i]);
}

static void draw_time(FILE *out, double seconds)
{
    if (seconds >= 3600)
        fprintf(out, "%d:%02d:%02d", (int)(seconds / 3600),
                (int)(seconds / 60) % 60, (int)seconds % 60);
    else if (seconds >= 60)
        fprintf(out, "%d:%02d", (int)(seconds / 60), (int)seconds % 60);
    else
        fprintf(out, "%ds", (int)seconds);
}

void sn_progress_update(sn_progress *p, int step, char *const *names,
                        const double *logs, int n_logs)
{
    if (p->out == NULL || !p->tty || step >= p->steps)
        return;
    double now = sn_now_seconds();
    if (now - p->last_draw < 0.05)
        return;
    p->last_draw = now;
    double elapsed = now - p->epoch_start;
    double eta = step > 0 ? elapsed / step * (p->steps - step) : 0.0;
    fputc('\r', p->out);
    draw_bar(p->out, step, p->steps);
    fputs(" - ETA: ", p->out);
    draw_time(p->out, eta);
    draw_logs(p->out, names, logs, n_logs, "");
    fputs("\033[K", p->out); /* clear what a longer line left behind */
    fflush(p->out);
}

void sn_progress_end_epoch(sn_progress *p, char *const *names,
                           const double *logs, int n_logs,
                           char *const *val_names, const double *val_logs,
                           int n_val)
{
    if (p->out == NULL)
        return;
    double elapsed = sn_now_seconds() - p->epoch_start;
    if (p->tty)
        fputc('\r', p->out);
    draw_bar(p->out, p->steps, p->steps);
    fputs(" - ", p->out);
    draw_time(p->out, elapsed);
    double per_step = p->steps > 0 ? elapsed / p->steps : 0.0;
    if (per_step >= 1.0)
        fprintf(p->out, " %.0fs/step", per_step);
    else if (per_step >= 1e-3)
        fprintf(p->out, " %.0fms/step", per_step * 1e3);
    else
        fprintf(p->out, " %.0fus/step", per_step * 1e6);
    draw_logs(p->out, names, logs, n_logs, "");
    draw_logs(p->out, val_names, val_logs, n_val, "val_");
    if (p->tty)
        fputs("\033[K", p->out);
    fputc('\n', p->out);
    fflush(p->out);
}
