/* sofia_yield: the process's su_root_yield is vcsd's no-op, the one Sofia-SIP's own calls bind
 * to (its nta outgoing timer and nua handle timer call it through the PLT), and it handles
 * nothing that is ready: a packet waiting on a registered socket stays for the next root step.
 * Without the no-op Sofia's yield would run the callback at once. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sip/sofia_yield.h"

static int handled;

static int on_ready(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg)
{
    (void)magic;
    char buf[8];
    if (recv(*(int *)arg, buf, sizeof buf, 0) > 0)
        handled++;
    (void)w;
    return 0;
}

static void test_library_binds_to_ours(void **state)
{
    (void)state;
    assert_ptr_equal(dlsym(RTLD_DEFAULT, "su_root_yield"), (void *)su_root_yield);
}

static void test_yield_handles_nothing(void **state)
{
    (void)state;
    assert_int_equal(su_init(), 0);
    su_root_t *root = su_root_create(NULL);
    assert_non_null(root);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    su_wait_t w[1];
    assert_int_equal(su_wait_create(w, sv[0], SU_WAIT_IN), 0);
    int index = su_root_register(root, w, on_ready, (su_wakeup_arg_t *)&sv[0], 0);
    assert_true(index >= 0);
    assert_int_equal(send(sv[1], "x", 1, 0), 1);

    assert_int_equal(su_root_yield(root), 0);
    assert_int_equal(handled, 0); /* the packet waits for the next step */
    su_root_step(root, 100);
    assert_int_equal(handled, 1); /* it was ready all along */

    su_root_deregister(root, index);
    su_root_destroy(root);
    close(sv[0]);
    close(sv[1]);
    su_deinit();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_binds_to_ours),
        cmocka_unit_test(test_yield_handles_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
