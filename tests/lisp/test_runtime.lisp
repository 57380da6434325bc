; test_runtime.lisp - section 4: devices and runtime
(use 'lispe_torch)

(setq lt_failures 0)
(setq lt_checks 0)

(defun lt_check (what ok)
   (setg lt_checks (+ lt_checks 1))
   (if (not ok)
      (block
         (setg lt_failures (+ lt_failures 1))
         (println "FAIL:" what))))

; numbers compared as doubles (LispE compares an integer with the other
; value converted to an integer)
(defun lt_near (a b)
   (setq d (- (number a) (number b)))
   (< (if (< d 0) (- 0.0 d) d) 1e-4))

(defun lt_same (a b)
   (if (not (= (size a) (size b)))
      nil
      (block
         (setq ok true)
         (loopcount (size a) i
            (if (not (lt_near (@ a i) (@ b i))) (setq ok nil)))
         ok)))

(defun lt_bool (x) (or (eq x true) (nullp x) (eq x false)))

(defun integerp (x) (eq (type x) 'integer_))
(defun dictionaryp (x) (eq (type x) 'dictionary_))

(setq base (tensor_in_memory))

(defun devices ()
   (setq cuda (torch_cuda_is_available))
   (lt_check "cuda_is_available is a boolean" (lt_bool cuda))
   (lt_check "cuda_available alias agrees" (eq (not cuda) (not (torch_cuda_available))))
   (setq n (torch_cuda_device_count))
   (lt_check "device count" (and (integerp n) (>= n 0)))
   (lt_check "no devices without cuda" (or cuda (= n 0)))
   (setq mps (torch_mps_is_available))
   (lt_check "mps_is_available is a boolean" (lt_bool mps))
   (lt_check "mps_available alias agrees" (eq (not mps) (not (torch_mps_available))))
   (setq best (torch_get_best_device))
   (lt_check "best device" (or (eq best "cuda") (eq best "mps") (eq best "cpu")))
   (lt_check "best device without cuda/mps" (or cuda mps (eq best "cpu")))
   (setq t (tensor_create (floats 1 2 3)))
   (setq c (torch_to_device t "cpu"))
   (lt_check "to_device cpu" (eq (tensor_device c) "cpu"))
   (lt_check "to_device keeps values" (lt_same (tensor_to_list c) (floats 1 2 3)))
   (lt_check "to_cpu" (eq (tensor_device (torch_to_cpu t)) "cpu"))
   (lt_check "not on mps" (not (torch_on_mps t)))
   (setq b (torch_to_device t best))
   (lt_check "to the best device" (lt_same (tensor_to_list b) (floats 1 2 3)))
   (if cuda
      (block
         (setq g (torch_to_cuda t))
         (lt_check "to_cuda" (eq (tensor_device g) "cuda:0"))
         (lt_check "back to cpu" (lt_same (tensor_to_list (torch_to_cpu g)) (floats 1 2 3)))
         (lt_check "cuda memory" (> (torch_cuda_memory_total) 0)))
      (block
         (lt_check "to_cuda fails without cuda" (maybe (catch (torch_to_cuda t))))
         (lt_check "no cuda memory" (= (torch_cuda_memory_allocated) 0))
         (lt_check "no cuda total" (= (torch_cuda_memory_total) 0))))
   (if (not mps)
      (lt_check "to_mps fails without mps" (maybe (catch (torch_to_mps t)))))
   (torch_cuda_empty_cache)
   (torch_cuda_synchronize)
   (torch_mps_synchronize)
   (torch_mps_synchronize true)
   (lt_check "synchronize calls return" true))
(devices)

(defun threads ()
   (setq n0 (torch_get_num_threads))
   (lt_check "threads positive" (> n0 0))
   (torch_set_num_threads 2)
   (lt_check "set threads" (= (torch_get_num_threads) 2))
   (torch_set_num_threads n0)
   (lt_check "threads restored" (= (torch_get_num_threads) n0)))
(threads)

(defun info ()
   (setq i (torch_info))
   (lt_check "info is a dictionary" (dictionaryp i))
   (lt_check "info version" (stringp (@ i "libtorch_version")))
   (lt_check "info threads" (> (@ i "num_threads") 0))
   (lt_check "info cuda agrees" (eq (not (@ i "cuda")) (not (torch_cuda_is_available))))
   (lt_check "info best device" (eq (@ i "best_device") (torch_get_best_device)))
   (lt_check "info keys" (>= (size (keys@ i)) 10)))
(info)

(lt_check "all tensors freed" (= (tensor_in_memory) base))

(if (= lt_failures 0)
   (println "ALL PASSED" lt_checks "checks")
   (println lt_failures "of" lt_checks "checks failed"))
