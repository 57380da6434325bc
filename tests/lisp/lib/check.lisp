; check.lisp - what every script test under tests/lisp/ shares: counting
; checks, comparing numbers, lists and tensors, errors that name something,
; and the closing line ctest reads ("ALL PASSED" or "FAIL:").
; A test loads it with (load (+ _current "lib/check.lisp")).

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
(defun lt_close (a b tol)
   (setq d (- (number a) (number b)))
   (< (if (< d 0) (- 0.0 d) d) tol))
(defun lt_near (a b) (lt_close a b 1e-4))

; element-wise comparison of two flat lists of numbers
(defun lt_same (a b)
   (if (not (= (size a) (size b)))
      nil
      (block
         (setq ok true)
         (loopcount (size a) i
            (if (not (lt_near (@ a i) (@ b i))) (setq ok nil)))
         ok)))

; same integers, element by element
(defun same_ids (a b)
   (setq same (= (size a) (size b)))
   (if same
      (loopcount (size a) i
         (if (neq (@ a i) (@ b i)) (setq same nil))))
   same)

(defun lt_values (t) (tensor_to_list (tensor_flatten t)))

; largest |a - b| over all values of two tensors
(defun lt_maxdiff (a b) (tensor_item (tensor_max (tensor_abs (tensor_sub a b)))))

(defun lt_contains (s sub) (not (nullp (find s sub))))

; e: the value of (catch ...); an error whose message holds `sub`
(defun lt_error_with (what e sub)
   (lt_check (+ what ": an error") (maybe e))
   (if (maybe e)
      (lt_check (+ what ": the message holds " sub) (lt_contains (string e) sub))))

(defun integerp (x) (eq (type x) 'integer_))

(defun lt_report ()
   (if (= lt_failures 0)
      (println "ALL PASSED" lt_checks "checks")
      (println "FAIL:" lt_failures "of" lt_checks "checks failed")))
