/* lt_sched.h - learning-rate schedulers (handle kind LT_H_SCHEDULER). */
#ifndef LT_SCHED_H
#define LT_SCHED_H
void lt_sched_release(void *p);
int lt_sched_retain(void *p, void **out);
#endif
